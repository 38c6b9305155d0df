# Reference values for the stratified methods: analysis/survival.py (logrank_table(strata=)),
# analysis/cox.py (fit_cox(strata=)) and analysis/stratified.py (mantelhaen_exact),
# computed with R packages survival (survdiff, coxph + strata()) and stats (mantelhaen.test).
#
# Run from the repository root:
#     Rscript tests/reference/strata_reference.R
# Writes tests/reference/strata_reference.json (data sets included), read by
# tests/test_strata.py. No package besides survival is needed: JSON is
# written by hand at full precision (%.17g); NA/NaN -> null, Inf -> "Inf".
suppressPackageStartupMessages(library(survival))

out_path <- file.path("tests", "reference", "strata_reference.json")
if (!dir.exists(dirname(out_path))) {
  stop("run from the repository root: Rscript tests/reference/strata_reference.R")
}

# ---------------------------------------------------------------- JSON writer
source(file.path("tests", "reference", "json_writer.R"))  # as_array, json_scalar, to_json, num

logrank_block <- function(d) {
  res <- tryCatch(suppressWarnings(survdiff(Surv(time, status) ~ group + strata(stratum), data = d)),
                  error = function(e) e)
  if (inherits(res, "error")) return(list(error = conditionMessage(res)))
  observed <- if (is.matrix(res$obs)) rowSums(res$obs) else res$obs
  expected <- if (is.matrix(res$exp)) rowSums(res$exp) else res$exp
  df <- sum(expected > 0) - 1
  list(levels = as_array(sub("^group=", "", names(res$n))), n = num(res$n),
       observed = num(observed), expected = num(expected), var = res$var,
       chisq = as.numeric(res$chisq), df = as.numeric(df),
       p = suppressWarnings(pchisq(res$chisq, df, lower.tail = FALSE)))
}

cox_block <- function(d, ties) {
  fit <- coxph(Surv(time, status) ~ group + x + strata(stratum), data = d, ties = ties)
  ci <- summary(fit)$conf.int
  list(ties = ties, terms = as_array(names(coef(fit))), coef = num(coef(fit)),
       se = num(sqrt(diag(vcov(fit)))), hr_lower = num(ci[, "lower .95"]),
       hr_upper = num(ci[, "upper .95"]), loglik = num(fit$loglik), n = as.numeric(fit$n),
       nevent = as.numeric(fit$nevent))
}

make_dataset <- function(name, description, time, status, group, stratum, x) {
  d <- data.frame(time = time, status = status, group = group, stratum = stratum, x = x)
  list(name = name, description = description,
       time = num(time), status = num(status), group = as_array(as.character(group)),
       stratum = as_array(as.character(stratum)), x = num(x),
       n_missing_stratum = as.numeric(sum(is.na(stratum))),
       logrank = logrank_block(d),
       cox = list(cox_block(d, "efron"), cox_block(d, "breslow")))
}

simulate <- function(n, n_groups, n_strata, round_to, censor_rate, seed) {
  set.seed(seed)
  group <- sample(LETTERS[seq_len(n_groups)], n, replace = TRUE)
  stratum <- sample(paste0("S", seq_len(n_strata)), n, replace = TRUE)
  x <- round(rnorm(n), 2)
  rate <- c(0.08, 0.12, 0.2, 0.3)[match(group, LETTERS)] * c(1, 1.6, 0.7, 2.2)[match(stratum, paste0("S", 1:4))] *
    exp(0.3 * x)
  event_time <- rexp(n, rate)
  censor_time <- rexp(n, censor_rate)
  time <- round(pmin(event_time, censor_time) / round_to) * round_to
  status <- as.numeric(event_time <= censor_time)
  list(time = time, status = status, group = group, stratum = stratum, x = x)
}

datasets <- list()
add <- function(d) datasets[[length(datasets) + 1]] <<- d

# (1) seed-002-like cohort PFS (tests/reference/survival_reference.R), split into two studies
pfs <- c(5, 3.5, 3, 2.5, 2, 1.8, 1, 15, 7.8, 4, 4.5, 2, 2.8, 3, 2.8, 1.8, 1.3, 4.3, 2.5,
         1.5, 1.3, 1.8, 1.5, 1.5, 2.8, 1.3, 1.8, 1.5)
histology <- ifelse(seq_along(pfs) %in% 8:12, "angiosarcoma", "other")
study <- ifelse(seq_along(pfs) %% 2 == 0, "seed-002", "seed-003")
age <- c(61, 45, 58, 70, 39, 52, 66, 48, 57, 63, 44, 71, 50, 59, 62, 47, 55, 68, 41, 53,
         64, 49, 60, 56, 67, 43, 51, 65)
add(make_dataset("seed002_pfs_two_studies", "seed-002 PFS, patients split into two studies",
                 pfs, rep(1, length(pfs)), histology, study, age))

# (2) simulated: 2-4 strata, heavy ties
for (cfg in list(list(80, 2, 2, 1, 0.05, 11), list(150, 3, 3, 0.5, 0.04, 12),
                 list(200, 2, 4, 1, 0.03, 13), list(300, 4, 3, 0.1, 0.03, 14))) {
  s <- simulate(cfg[[1]], cfg[[2]], cfg[[3]], cfg[[4]], cfg[[5]], cfg[[6]])
  add(make_dataset(sprintf("sim_n%d_g%d_s%d", cfg[[1]], cfg[[2]], cfg[[3]]),
                   sprintf("n=%d, %d groups, %d strata, times rounded to %g", cfg[[1]], cfg[[2]], cfg[[3]], cfg[[4]]),
                   s$time, s$status, s$group, s$stratum, s$x))
}

# (3) a stratum without events, a stratum with one patient, missing strata
s <- simulate(60, 2, 2, 1, 0.05, 21)
add(make_dataset("stratum_without_events", "stratum S3 (6 patients) all censored",
                 c(s$time, 2, 4, 5, 7, 9, 11), c(s$status, rep(0, 6)), c(s$group, "A", "B", "A", "B", "A", "B"),
                 c(s$stratum, rep("S3", 6)), c(s$x, 0.5, -0.2, 1.1, 0.3, -1.4, 0.8)))
s <- simulate(50, 2, 2, 1, 0.05, 22)
add(make_dataset("stratum_one_patient", "stratum S9 has a single patient (with an event)",
                 c(s$time, 3), c(s$status, 1), c(s$group, "B"), c(s$stratum, "S9"), c(s$x, 0.7)))
s <- simulate(70, 3, 3, 1, 0.05, 23)
stratum <- s$stratum
stratum[c(3, 17, 40)] <- NA
add(make_dataset("missing_strata", "three patients without a stratum (dropped)",
                 s$time, s$status, s$group, stratum, s$x))

# (4) exact conditional test of a common odds ratio (2 x 2 x K, zero cells)
mh_case <- function(name, x) {
  r <- mantelhaen.test(x, exact = TRUE)
  list(name = name, dim = num(dim(x)), counts = num(c(x)),  # column-major, as array(c(...), dim)
       p = as.numeric(r$p.value), estimate = as.numeric(r$estimate), statistic = as.numeric(r$statistic),
       lower = as.numeric(r$conf.int[1]), upper = as.numeric(r$conf.int[2]))
}
mh <- list(
  mh_case("three_tables", array(c(2, 3, 5, 1, 1, 4, 0, 2, 3, 0, 3, 4), c(2, 2, 3))),
  mh_case("zero_cells", array(c(0, 4, 3, 2, 5, 0, 1, 3, 2, 2, 0, 6), c(2, 2, 3))),
  mh_case("two_studies_orr", array(c(4, 2, 6, 9, 3, 1, 5, 11), c(2, 2, 2))),
  mh_case("estimate_infinite", array(c(3, 0, 0, 4, 2, 0, 1, 5), c(2, 2, 2))),
  mh_case("estimate_zero", array(c(0, 3, 4, 0, 0, 2, 3, 1), c(2, 2, 2))),
  mh_case("one_stratum_uninformative", array(c(7, 3, 2, 8, 0, 0, 4, 1), c(2, 2, 2))),
  mh_case("four_strata_large", array(c(12, 8, 15, 20, 6, 9, 10, 7, 20, 14, 11, 18, 3, 5, 4, 9), c(2, 2, 4)))
)

reference <- list(
  meta = list(generated_by = "tests/reference/strata_reference.R", r_version = R.version.string,
              survival_version = as.character(packageVersion("survival"))),
  datasets = datasets, mantelhaen = mh
)
writeLines(to_json(reference), out_path, useBytes = TRUE)
cat("wrote", out_path, "with", length(datasets), "data sets and", length(mh), "exact tests\n")
