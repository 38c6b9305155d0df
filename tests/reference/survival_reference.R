# Reference values for analysis/survival.py, computed with R package survival.
#
# Run from the repository root:
#     Rscript tests/reference/survival_reference.R
# Writes tests/reference/survival_reference.json (data sets included), read by
# tests/test_survival.py. No package besides survival is needed: JSON is
# written by hand at full precision (%.17g); NA/NaN -> null, Inf -> "Inf".

suppressPackageStartupMessages(library(survival))

out_path <- file.path("tests", "reference", "survival_reference.json")
if (!dir.exists(dirname(out_path))) {
  stop("run from the repository root: Rscript tests/reference/survival_reference.R")
}

# ---------------------------------------------------------------- JSON writer
source(file.path("tests", "reference", "json_writer.R"))  # as_array, json_scalar, to_json, num

km_block <- function(fit, landmarks, risk_times) {
  # fit: survfit object for one curve (no strata)
  full <- summary(fit, censored = TRUE)
  tab <- summary(fit)$table
  quant <- quantile(fit, probs = c(0.25, 0.5, 0.75))
  at <- summary(fit, times = landmarks, extend = TRUE)
  risk <- summary(fit, times = risk_times, extend = TRUE)
  list(
    n = as.numeric(fit$n),
    table = list(
      time = num(fit$time), n_risk = num(fit$n.risk), n_event = num(fit$n.event),
      n_censor = num(fit$n.censor), surv = num(fit$surv),
      std_err = num(full$std.err),     # summary(): SE of S
      std_err_log = num(fit$std.err),  # survfit(): SE of log S
      lower = num(fit$lower), upper = num(fit$upper),
      summary_time = num(full$time)    # sanity: summary(censored=TRUE) rows
    ),
    print = list(
      events = as.numeric(tab[["events"]]), median = as.numeric(tab[["median"]]),
      lower = as.numeric(tab[[grep("LCL", names(tab))]]),
      upper = as.numeric(tab[[grep("UCL", names(tab))]])
    ),
    quantile = list(
      probs = num(c(0.25, 0.5, 0.75)), quantile = num(quant$quantile),
      lower = num(quant$lower), upper = num(quant$upper)
    ),
    landmarks = list(
      requested = num(landmarks), time = num(at$time), n_risk = num(at$n.risk),
      n_event = num(at$n.event), n_censor = num(at$n.censor), surv = num(at$surv),
      std_err = num(at$std.err), lower = num(at$lower), upper = num(at$upper)
    ),
    number_at_risk = list(requested = num(risk_times), time = num(risk$time),
                          n_risk = num(risk$n.risk))
  )
}

logrank_block <- function(time, status, group) {
  # survdiff warns (pchisq NaN) when there is no event at all; errors when singular
  res <- tryCatch(suppressWarnings(survdiff(Surv(time, status) ~ group)), error = function(e) e)
  if (inherits(res, "error")) return(list(error = conditionMessage(res)))
  expected <- res$exp
  df <- sum(expected > 0) - 1
  list(
    levels = as_array(sub("^group=", "", names(res$n))),
    n = num(res$n), observed = num(res$obs), expected = num(expected),
    var = res$var, chisq = as.numeric(res$chisq), df = as.numeric(df),
    p = suppressWarnings(pchisq(res$chisq, df, lower.tail = FALSE))
  )
}

make_dataset <- function(name, description, time, status, group = NULL,
                         landmarks, risk_times,
                         conf_ints = 0.95, conf_types = c("log", "log-log", "plain", "logit", "arcsin")) {
  fits <- list()
  for (conf_int in conf_ints) for (conf_type in conf_types) {
    overall <- survfit(Surv(time, status) ~ 1, conf.type = conf_type, conf.int = conf_int)
    entry <- list(conf_type = conf_type, conf_int = conf_int,
                  overall = km_block(overall, landmarks, risk_times))
    if (!is.null(group)) {
      strat <- survfit(Surv(time, status) ~ group, conf.type = conf_type, conf.int = conf_int)
      levels_ <- sub("^group=", "", names(strat$strata))
      tab <- summary(strat)$table
      by_group <- list()
      for (i in seq_along(levels_)) {
        block <- km_block(strat[i], landmarks, risk_times)
        # median from the stratified print table (must agree with strat[i])
        block$print_strata <- list(median = as.numeric(tab[i, "median"]),
                                   lower = as.numeric(tab[i, grep("LCL", colnames(tab))]),
                                   upper = as.numeric(tab[i, grep("UCL", colnames(tab))]))
        by_group[[levels_[i]]] <- block
      }
      entry$by_group <- by_group
    }
    fits[[length(fits) + 1]] <- entry
  }
  list(
    name = name, description = description,
    time = num(time), status = num(status),
    group = if (is.null(group)) NULL else as_array(as.character(group)),
    fits = fits,
    logrank = if (is.null(group)) NULL else logrank_block(time, status, group)
  )
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

# (1) seed-002 cohort (nab-paclitaxel + sintilimab), PFS in months, all progressed
pfs <- c(5, 3.5, 3, 2.5, 2, 1.8, 1, 15, 7.8, 4, 4.5, 2, 2.8, 3, 2.8, 1.8, 1.3, 4.3, 2.5,
         1.5, 1.3, 1.8, 1.5, 1.5, 2.8, 1.3, 1.8, 1.5)
histology <- ifelse(seq_along(pfs) %in% 8:12, "angiosarcoma", "other")
add(make_dataset("seed002_pfs", "seed-002 cohort PFS (28 patients, all events); angiosarcoma = patients 8-12",
                 pfs, rep(1, length(pfs)), histology,
                 landmarks = c(6, 4, 0, 1.5, 2.25, 12, 20), risk_times = c(0, 3, 6, 9, 12, 15, 18),
                 conf_ints = c(0.95, 0.90)))

# (2) simulated, heavy ties (rounded times) and censoring
s <- simulate(5, 2, 1, 0.05, seed = 101)
add(make_dataset("sim_n5", "n=5, 2 groups, integer times", s$time, s$status, s$group,
                 landmarks = c(0, 1, 2.5, 5, 100), risk_times = c(0, 2, 4, 8, 50)))
s <- simulate(30, 3, 1, 0.04, seed = 202)
add(make_dataset("sim_n30", "n=30, 3 groups, integer times", s$time, s$status, s$group,
                 landmarks = c(0, 3, 6, 6.5, 12, 24, 200), risk_times = seq(0, 36, by = 6)))
s <- simulate(200, 4, 0.5, 0.03, seed = 303)
add(make_dataset("sim_n200", "n=200, 4 groups, times rounded to 0.5", s$time, s$status, s$group,
                 landmarks = c(12, 6, 24, 0, 3, 36, 500), risk_times = seq(0, 60, by = 6),
                 conf_ints = c(0.95, 0.90)))
s <- simulate(1000, 3, 0.1, 0.03, seed = 404)
add(make_dataset("sim_n1000", "n=1000, 3 groups, times rounded to 0.1", s$time, s$status, s$group,
                 landmarks = c(0, 1, 3, 6, 12, 18, 24, 36, 1000), risk_times = seq(0, 48, by = 3)))
s <- simulate(200, 2, 1, 0.02, seed = 505, admin_censor = 18)
add(make_dataset("sim_n200_admin", "n=200, 2 groups, integer times, administrative censoring at 18",
                 s$time, s$status, s$group,
                 landmarks = c(0, 6, 12, 18, 24), risk_times = c(0, 6, 12, 18, 24)))
s <- simulate(60, 4, 2, 0.1, seed = 606)
add(make_dataset("sim_n60_heavy_censor", "n=60, 4 groups, times rounded to 2, heavy censoring",
                 s$time, s$status, s$group,
                 landmarks = c(0, 2, 5, 10, 20, 40), risk_times = c(0, 4, 8, 16, 32)))

# (3) edge cases
add(make_dataset("all_censored", "all censored: S = 1, median not reached",
                 c(2, 4, 4, 7, 9, 12), rep(0, 6), c("a", "a", "b", "b", "a", "b"),
                 landmarks = c(0, 4, 20), risk_times = c(0, 4, 5, 20)))
add(make_dataset("single_patient_event", "one patient, event at 3",
                 3, 1, landmarks = c(0, 2, 3, 4), risk_times = c(0, 3, 4)))
add(make_dataset("single_patient_censored", "one patient, censored at 3",
                 3, 0, landmarks = c(0, 2, 3, 4), risk_times = c(0, 3, 4)))
add(make_dataset("half_over_interval", "S = 0.5 exactly on [3, 4): median is the midpoint 3.5",
                 c(1, 2, 3, 4, 5, 6), rep(1, 6), c("x", "y", "x", "y", "x", "y"),
                 landmarks = c(2.9, 3, 3.5, 4), risk_times = c(0, 3, 3.5, 7)))
add(make_dataset("ends_at_half", "curve ends at S = 0.5 (print and quantile rules differ)",
                 c(1, 2, 3, 4), c(1, 1, 0, 0), landmarks = c(0, 2, 4, 5), risk_times = c(0, 2, 4, 5)))
add(make_dataset("ends_at_half_groups", "several curves ending at 0.5, ties of events and censorings",
                 c(1, 2, 2, 3, 5, 5, 6, 6, 1, 1, 4, 8), c(1, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0),
                 c(rep("g1", 8), rep("g2", 4)),
                 landmarks = c(0, 2, 5, 9), risk_times = c(0, 2, 5, 9)))
add(make_dataset("nonmonotone_upper",
                 "upper log limit rises again after crossing 0.5: print.survfit and quantile.survfit give different UCL",
                 c(50, 15, 20, 1, 26, 13, 23, 6, 9, 54, 6, 45, 12, 40, 8, 45, 5, 36, 27, 11, 12, 41, 53, 10,
                   37, 50, 21, 48),
                 c(0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1),
                 landmarks = c(0, 15, 45, 50, 60), risk_times = c(0, 15, 45, 60)))
add(make_dataset("censor_at_event_times", "censorings tied with events",
                 c(1, 1, 1, 2, 2, 3, 3, 3, 4, 5, 5, 6), c(1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1),
                 c("a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b"),
                 landmarks = c(0, 1, 2, 3.5, 6, 7), risk_times = c(0, 1, 2, 3, 6, 7)))
add(make_dataset("last_censored", "last observation censored after the last event",
                 c(1, 3, 4, 6, 7, 9, 10, 15), c(1, 1, 0, 1, 1, 0, 1, 0),
                 landmarks = c(0, 9, 10, 12, 15, 20), risk_times = c(0, 10, 15, 16)))
add(make_dataset("time_zero", "events and censorings at time 0",
                 c(0, 0, 0, 1, 2, 2, 3, 5), c(1, 0, 1, 1, 1, 0, 1, 0), c("p", "q", "p", "q", "p", "q", "p", "q"),
                 landmarks = c(-1, 0, 0.5, 2, 6), risk_times = c(-1, 0, 1, 6)))
add(make_dataset("near_ties", "times equal up to rounding error (merged by aeqSurv / timefix)",
                 c(0.1 + 0.2, 0.3, 1 / 3, 0.333333333333333, 0.7, 0.1 * 7, 1, 1.2),
                 c(1, 1, 1, 0, 1, 1, 0, 1), c("u", "v", "u", "v", "u", "v", "u", "v"),
                 landmarks = c(0.3, 0.5, 0.7, 2), risk_times = c(0.3, 0.7, 1.1)))
add(make_dataset("zero_event_group", "log-rank with a group without events",
                 c(2, 3, 5, 8, 9, 12, 4, 6, 10), c(1, 1, 1, 0, 1, 1, 0, 0, 0),
                 c("a", "a", "a", "a", "a", "a", "b", "b", "b"),
                 landmarks = c(0, 5, 10), risk_times = c(0, 5, 10)))
add(make_dataset("no_expected_group", "group c censored before the first event: expected 0, df reduced",
                 c(0.5, 0.7, 2, 3, 5, 6, 4, 7, 8), c(0, 0, 1, 1, 0, 1, 1, 1, 0),
                 c("c", "c", "a", "a", "a", "a", "b", "b", "b"),
                 landmarks = c(0, 5), risk_times = c(0, 5)))
add(make_dataset("singular_variance", "two patients dying together: survdiff stops (singular)",
                 c(1, 1), c(1, 1), c("a", "b"), landmarks = c(0, 1, 2), risk_times = c(0, 1, 2)))

reference <- list(
  meta = list(
    generated_by = "tests/reference/survival_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    tolerance = sqrt(.Machine$double.eps)
  ),
  datasets = datasets
)

writeLines(to_json(reference), out_path, useBytes = TRUE)
cat("wrote", out_path, "with", length(datasets), "data sets\n")
