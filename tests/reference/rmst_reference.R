# Reference values for analysis/rmst.py and analysis/follow_up.py, computed with R package survival.
#
# Run from the repository root:
#     Rscript tests/reference/rmst_reference.R
# Writes tests/reference/rmst_reference.json (data sets included), read by tests/test_rmst.py.
#
# Per group: rmean and se(rmean) of summary(survfit(Surv(time, status) ~ group), rmean = tau)$table
# (survival:::survmean), CI = rmean -+ qnorm(0.975) se. They are checked here against a by-hand transcription
# of survRM2's rmst1 (survRM2 is not installed: no CRAN access).
# Between groups (each group against the first level): survRM2 rmst2's unadjusted contrasts written out by
# hand from survival's rmean and se(rmean): difference with normal CI and p from z; ratio on the log scale
# with delta-method se.
# Median follow-up: survfit(Surv(time, 1 - status) ~ 1) median and 95% CI (print.survfit rule).
# JSON written by hand at %.17g; NA/NaN -> null, Inf -> "Inf".

suppressPackageStartupMessages(library(survival))

out_path <- file.path("tests", "reference", "rmst_reference.json")
if (!dir.exists(dirname(out_path))) {
  stop("run from the repository root: Rscript tests/reference/rmst_reference.R")
}

# ---------------------------------------------------------------- JSON writer
source(file.path("tests", "reference", "json_writer.R"))  # as_array, json_scalar, to_json, num

# ---------------------------------------------------------------- survRM2 rmst1, transcribed
rmst1_by_hand <- function(time, status, tau) {
  ft <- survfit(Surv(time, status) ~ 1)
  idx <- ft$time <= tau
  wk.time <- sort(c(ft$time[idx], tau))
  wk.surv <- ft$surv[idx]
  wk.n.risk <- ft$n.risk[idx]
  wk.n.event <- ft$n.event[idx]
  time.diff <- diff(c(0, wk.time))
  areas <- time.diff * c(1, wk.surv)
  rmst <- sum(areas)
  wk.var <- ifelse((wk.n.risk - wk.n.event) == 0, 0, wk.n.event / (wk.n.risk * (wk.n.risk - wk.n.event)))
  wk.var <- c(wk.var, 0)
  c(rmst = rmst, se = sqrt(sum(cumsum(rev(areas[-1]))^2 * rev(wk.var)[-1])))
}

# ---------------------------------------------------------------- one (data set, tau) case
rmst_case <- function(time, status, group, tau, label) {
  z <- qnorm(0.975)
  fit <- survfit(Surv(time, status) ~ group)
  tab <- summary(fit, rmean = tau)$table
  levels_ <- sub("^group=", "", rownames(tab))
  rmean <- as.numeric(tab[, "rmean"])
  se <- as.numeric(tab[, "se(rmean)"])
  for (i in seq_along(levels_)) {
    who <- as.character(group) == levels_[i]
    hand <- rmst1_by_hand(time[who], status[who], tau)
    stopifnot(isTRUE(all.equal(unname(hand[["rmst"]]), rmean[i], tolerance = 1e-12)),
              isTRUE(all.equal(unname(hand[["se"]]), se[i], tolerance = 1e-12)))
  }
  contrasts <- list()
  for (i in seq_along(levels_)[-1]) {
    r1 <- rmean[i]; s1 <- se[i]; r0 <- rmean[1]; s0 <- se[1]
    d <- r1 - r0; d_se <- sqrt(s1^2 + s0^2)
    lr <- log(r1 / r0); lr_se <- sqrt(s1^2 / r1^2 + s0^2 / r0^2)
    contrasts[[length(contrasts) + 1]] <- list(
      reference = levels_[1], comparator = levels_[i],
      difference = d, difference_se = d_se, difference_lower = d - z * d_se, difference_upper = d + z * d_se,
      difference_p = if (d_se > 0) 2 * pnorm(-abs(d) / d_se) else NA,
      ratio = r1 / r0, log_ratio_se = lr_se, ratio_lower = exp(lr - z * lr_se), ratio_upper = exp(lr + z * lr_se),
      ratio_p = if (lr_se > 0) 2 * pnorm(-abs(lr) / lr_se) else NA)
  }
  list(label = label, tau = tau,
       groups = list(group = as_array(levels_), n = num(tab[, "records"]), events = num(tab[, "events"]),
                     rmst = num(rmean), se = num(se), lower = num(rmean - z * se), upper = num(rmean + z * se)),
       contrasts = contrasts)
}

follow_up_block <- function(time, status) {
  fit <- survfit(Surv(time, 1 - status) ~ 1)
  tab <- summary(fit)$table
  list(median = as.numeric(tab[["median"]]), lower = as.numeric(tab[["0.95LCL"]]),
       upper = as.numeric(tab[["0.95UCL"]]), n_censored = sum(1 - status))
}

make_dataset <- function(name, description, time, status, group, user_taus) {
  group <- as.character(group)
  limit <- min(tapply(time, group, max))
  cases <- list(rmst_case(time, status, group, limit, "default"))
  for (tau in user_taus) {
    if (tau > limit) stop(name, ": tau ", tau, " beyond the limit ", limit)
    cases[[length(cases) + 1]] <- rmst_case(time, status, group, tau, "user")
  }
  list(name = name, description = description, time = num(time), status = num(status),
       group = as_array(group), tau_limit = limit, cases = cases, follow_up = follow_up_block(time, status))
}

simulate <- function(n, n_groups, round_to, censor_rate, seed, admin_censor = Inf) {
  set.seed(seed)
  group <- sample(LETTERS[seq_len(n_groups)], n, replace = TRUE)
  rate <- c(0.08, 0.12, 0.2, 0.3)[match(group, LETTERS)]
  event_time <- rexp(n, rate)
  censor_time <- pmin(rexp(n, censor_rate), admin_censor)
  time <- round(pmin(event_time, censor_time) / round_to) * round_to
  status <- as.numeric(event_time <= censor_time)
  list(time = time, status = status, group = group)
}

datasets <- list()
add <- function(d) datasets[[length(datasets) + 1]] <<- d

# R data sets (times in days)
add(make_dataset("veteran_trt", "veteran, by treatment (2 groups)", veteran$time, veteran$status,
                 veteran$trt, user_taus = c(30, 100, 365, 553)))
add(make_dataset("veteran_celltype", "veteran, by cell type (4 groups)", veteran$time, veteran$status,
                 veteran$celltype, user_taus = c(50, 100)))
add(make_dataset("lung_sex", "lung, by sex (2 groups), status 2 = death", lung$time, lung$status - 1,
                 lung$sex, user_taus = c(180, 365, 500)))
ecog <- !is.na(lung$ph.ecog) & lung$ph.ecog < 3
add(make_dataset("lung_ecog", "lung, by ECOG 0-2 (3 groups)", lung$time[ecog], lung$status[ecog] - 1,
                 lung$ph.ecog[ecog], user_taus = c(183, 400)))

# seed-002-like PFS (as tests/reference/survival_reference.R): all progressed
pfs <- c(5, 3.5, 3, 2.5, 2, 1.8, 1, 15, 7.8, 4, 4.5, 2, 2.8, 3, 2.8, 1.8, 1.3, 4.3, 2.5,
         1.5, 1.3, 1.8, 1.5, 1.5, 2.8, 1.3, 1.8, 1.5)
histology <- ifelse(seq_along(pfs) %in% 8:12, "angiosarcoma", "other")
add(make_dataset("seed002_pfs", "seed-002 cohort PFS (28 patients, all events)", pfs, rep(1, length(pfs)),
                 histology, user_taus = c(1.5, 3, 4.5)))
# the same with the last three patients censored (so a reverse KM exists)
status <- rep(1, length(pfs)); status[c(8, 9, 20, 26)] <- 0
add(make_dataset("seed002_pfs_censored", "seed-002 PFS with 4 patients censored", pfs, status, histology,
                 user_taus = c(2, 3.5)))

# simulated, with ties (rounded times) and censoring
s <- simulate(30, 2, 1, 0.04, seed = 202)
add(make_dataset("sim_n30", "n=30, 2 groups, integer times", s$time, s$status, s$group, user_taus = c(3, 6, 10)))
s <- simulate(200, 3, 0.5, 0.03, seed = 303)
add(make_dataset("sim_n200", "n=200, 3 groups, times rounded to 0.5", s$time, s$status, s$group,
                 user_taus = c(6, 12, 12.25, 20)))
s <- simulate(120, 4, 2, 0.1, seed = 606)
add(make_dataset("sim_n120_heavy_censor", "n=120, 4 groups, times rounded to 2, heavy censoring",
                 s$time, s$status, s$group, user_taus = c(2, 5, 8)))
s <- simulate(200, 2, 1, 0.02, seed = 505, admin_censor = 18)
add(make_dataset("sim_admin", "n=200, 2 groups, administrative censoring at 18", s$time, s$status, s$group,
                 user_taus = c(6, 12)))
# edge cases
add(make_dataset("no_event_group", "group b has no event (se 0)", c(2, 3, 5, 8, 9, 12, 4, 6, 10),
                 c(1, 1, 1, 0, 1, 1, 0, 0, 0), c("a", "a", "a", "a", "a", "a", "b", "b", "b"),
                 user_taus = c(2, 5)))
add(make_dataset("curve_to_zero", "curves reaching 0 (n = d at the last time), ties with censoring",
                 c(1, 2, 2, 3, 4, 1, 1, 3, 3, 5), c(1, 1, 0, 1, 1, 1, 0, 1, 0, 1),
                 c("x", "x", "x", "x", "x", "y", "y", "y", "y", "y"), user_taus = c(1, 2, 3)))
add(make_dataset("near_ties", "times equal up to rounding error (merged by timefix)",
                 c(0.1 + 0.2, 0.3, 1 / 3, 0.333333333333333, 0.7, 0.1 * 7, 1, 1.2),
                 c(1, 1, 1, 0, 1, 1, 0, 1), c("u", "v", "u", "v", "u", "v", "u", "v"), user_taus = c(0.3, 0.5)))

reference <- list(
  meta = list(generated_by = "tests/reference/rmst_reference.R", r_version = R.version.string,
              survival_version = as.character(packageVersion("survival"))),
  datasets = datasets
)
writeLines(to_json(reference), out_path, useBytes = TRUE)
cat("wrote", out_path, "with", length(datasets), "data sets\n")
