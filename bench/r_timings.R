# R `survival` timings for bench/run.py: the same Kaplan-Meier, log-rank and Cox work
# as analysis/ does, on the same data, so the two can be compared in one run.
#
#   Rscript bench/r_timings.R DATA.csv REPEATS LANDMARKS GRID UNIVARIATE MULTIVARIABLE [MIN_REPEAT]
#
# DATA.csv      written by bench/run.py: pfs_months, pfs_event, histology_group, pazopanib (0/1/empty),
#               ecog, prior_lines, primary_site_group, sex, age, stage (empty = NA)
# REPEATS       timed repeats per task (after one untimed warm-up call)
# LANDMARKS     comma-separated landmark times, e.g. 6,12
# GRID          comma-separated times for the number at risk, e.g. 0,5,10
# UNIVARIATE    comma-separated covariates, one Cox model each
# MULTIVARIABLE comma-separated covariates of one Cox model
# MIN_REPEAT    seconds a repeat lasts at least (default 0.05)
#
# Reading the file is not timed. Each repeat is timed with proc.time() (1 ms resolution),
# so a task is run `inner` times per repeat, with inner chosen so that a repeat lasts at
# least MIN_REPEAT seconds; the time per call is printed. gc() runs before each repeat (not timed).
# Output, tab-separated: "time <task> <inner> <seconds per call, comma-separated>", plus
# "check" lines with numbers bench/run.py compares with its own.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
csv <- args[1]
repeats <- as.integer(args[2])
split <- function(x) strsplit(x, ",", fixed = TRUE)[[1]]
landmarks <- as.numeric(split(args[3]))
grid <- as.numeric(split(args[4]))
univariate <- split(args[5])
multivariable <- split(args[6])
min_repeat <- if (length(args) >= 7) as.numeric(args[7]) else 0.05

read_start <- proc.time()[["elapsed"]]
d <- read.csv(csv, na.strings = "", stringsAsFactors = FALSE,
              colClasses = c(pfs_months = "numeric", pfs_event = "integer", histology_group = "character",
                             pazopanib = "integer", ecog = "integer", prior_lines = "integer",
                             primary_site_group = "character", sex = "character", age = "integer",
                             stage = "character"))
# Factor levels in C-locale order (radix sort), as Python's sorted() in analysis/cox.py:
# the same reference level, so the same model.
for (v in c("histology_group", "primary_site_group", "sex", "stage")) {
  d[[v]] <- factor(d[[v]], levels = sort(unique(d[[v]][!is.na(d[[v]])]), method = "radix"))
}
d$pazopanib <- as.logical(d$pazopanib)
cat("read", proc.time()[["elapsed"]] - read_start, "\n", sep = "\t")
cat("version", R.version.string, as.character(packageVersion("survival")), "\n", sep = "\t")

surv_formula <- function(rhs) as.formula(paste("Surv(pfs_months, pfs_event) ~", rhs))

km_overall <- function() {
  fit <- survfit(Surv(pfs_months, pfs_event) ~ 1, data = d, conf.type = "log")
  table <- summary(fit)$table                       # median and its CI (print.survfit rule)
  at_landmarks <- summary(fit, times = landmarks, extend = TRUE)
  at_risk <- summary(fit, times = grid, extend = TRUE)$n.risk
  list(table, at_landmarks, at_risk)
}
km_by_group <- function() {
  fit <- survfit(Surv(pfs_months, pfs_event) ~ histology_group, data = d, conf.type = "log")
  table <- summary(fit)$table
  at_landmarks <- summary(fit, times = landmarks, extend = TRUE)
  at_risk <- summary(fit, times = grid, extend = TRUE)$n.risk
  list(table, at_landmarks, at_risk)
}
logrank <- function() survdiff(Surv(pfs_months, pfs_event) ~ histology_group, data = d)
cox_univariate <- function() {
  lapply(univariate, function(v) summary(coxph(surv_formula(v), data = d, ties = "efron")))
}
cox_multivariable <- function() {
  summary(coxph(surv_formula(paste(multivariable, collapse = " + ")), data = d, ties = "efron"))
}

time_task <- function(name, f) {
  start <- proc.time()[["elapsed"]]
  f()                                               # warm-up, also sizes the inner loop
  single <- max(proc.time()[["elapsed"]] - start, 0.001)
  inner <- max(1L, as.integer(ceiling(min_repeat / single)))
  per_call <- numeric(repeats)
  for (i in seq_len(repeats)) {
    invisible(gc(verbose = FALSE))
    start <- proc.time()[["elapsed"]]
    for (j in seq_len(inner)) f()
    per_call[i] <- (proc.time()[["elapsed"]] - start) / inner
  }
  cat("time", name, inner, paste(format(per_call, digits = 9), collapse = ","), "\n", sep = "\t")
}

time_task("km_overall", km_overall)
time_task("km_by_group", km_by_group)
time_task("logrank", logrank)
time_task("cox_univariate", cox_univariate)
time_task("cox_multivariable", cox_multivariable)

# numbers bench/run.py checks against its own (same work, same data)
overall <- summary(survfit(Surv(pfs_months, pfs_event) ~ 1, data = d))$table
cat("check", "km_median", format(overall[["median"]], digits = 17), "\n", sep = "\t")
cat("check", "logrank_chisq", format(logrank()$chisq, digits = 17), "\n", sep = "\t")
multi <- coxph(surv_formula(paste(multivariable, collapse = " + ")), data = d, ties = "efron")
cat("check", "cox_coef", paste(format(unname(coef(multi)), digits = 17), collapse = ","), "\n", sep = "\t")
