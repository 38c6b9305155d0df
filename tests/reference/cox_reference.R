# Reference values for analysis/cox.py, computed with R survival::coxph.
#
# Run from the repository root:
#     Rscript tests/reference/cox_reference.R
# Writes tests/reference/cox_reference.json (data sets + fitted results).
#
# JSON by tests/reference/json_writer.R with 17 significant
# digits; NA/NaN -> null.  Factor levels are sorted in C-locale order so that
# Python's sorted() gives the same reference level.  Python term names are
# recorded beside R's: numeric column "x" -> "x", factor level L of column
# "g" -> "g[L]".

suppressPackageStartupMessages(library(survival))

source("tests/reference/json_writer.R")  # to_json, as_array

# ------------------------------------------------------------ data sets ----
c_sort <- function(v) sort(unique(v[!is.na(v)]), method = "radix")  # C-locale order
as_c_factor <- function(v) factor(v, levels = c_sort(v))

datasets <- list()
factor_cols <- list()

# (1) Seed 002: nab-paclitaxel + sintilimab, 28 patients, all progressed.
# Published univariate Cox: angiosarcoma vs others HR 0.20 (0.06-0.70) p=0.012
# (= angiosarcoma, Efron) and head HR 0.20 (0.04-0.99) p=0.048 (= level Head of
# primary_site as a 4-level factor with reference Extremities, Efron; head vs
# all other sites pooled gives 0.26 (0.06-1.19) p=0.082).
seed <- data.frame(
  patient = 1:28,
  pfs_months = c(5, 3.5, 3, 2.5, 2, 1.8, 1, 15, 7.8, 4, 4.5, 2, 2.8, 3, 2.8, 1.8,
                 1.3, 4.3, 2.5, 1.5, 1.3, 1.8, 1.5, 1.5, 2.8, 1.3, 1.8, 1.5),
  progressed = rep(1L, 28),
  histology = c(rep("UPS", 7), rep("Angiosarcoma", 5), rep("Epithelioid sarcoma", 5),
                rep("Fibrosarcoma", 4), rep("Synovial sarcoma", 3),
                rep("Leiomyosarcoma", 2), "Pleomorphic liposarcoma", "Rhabdomyosarcoma"),
  primary_site = c("Head", "Extremities", "Extremities", "Neck", rep("Extremities", 3),
                   "Head", "Trunk", "Extremities", "Extremities", "Trunk",
                   "Extremities", "Trunk", "Trunk", "Extremities", "Extremities",
                   "Trunk", rep("Extremities", 3), "Neck", "Extremities", "Trunk",
                   "Extremities", "Trunk", "Extremities", "Head"),
  ecog = c(1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1),
  prior_lines = c(1, 1, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 1, 3, 2, 2, 3, 2, 1, 2, 1),
  stringsAsFactors = FALSE
)
seed$angiosarcoma <- as.numeric(seed$histology == "Angiosarcoma")
seed$head_primary <- as.numeric(seed$primary_site == "Head")
datasets$seed002 <- seed
factor_cols$seed002 <- c("histology", "primary_site")

# (2) Simulated sets with ties and censoring.
simulate <- function(n, time_step, with_missing = FALSE) {
  x_num <- rnorm(n)
  x_bin <- rbinom(n, 1, 0.4)
  grp <- sample(c("A", "B", "C"), n, replace = TRUE, prob = c(0.4, 0.35, 0.25))
  age <- round(rnorm(n, 58, 12))
  lp <- 0.5 * x_num - 0.7 * x_bin + c(A = 0, B = 0.4, C = -0.3)[grp] + 0.02 * (age - 58)
  event_time <- rexp(n, 0.08 * exp(lp))
  censor_time <- runif(n, 2, 30)
  time <- pmin(event_time, censor_time)
  time <- pmax(ceiling(time / time_step) * time_step, time_step)  # ties by rounding up
  status <- as.integer(event_time <= censor_time)
  d <- data.frame(time = time, status = status, x_num = x_num, x_bin = x_bin,
                  grp = grp, age = age, stringsAsFactors = FALSE)
  if (with_missing) {
    d$x_num[sample(n, 6)] <- NA
    d$grp[sample(n, 4)] <- NA
  }
  d
}
set.seed(20240611)
datasets$sim30 <- simulate(30, 0.5)
datasets$sim200 <- simulate(200, 1, with_missing = TRUE)
datasets$sim2000 <- simulate(2000, 0.1)
factor_cols$sim30 <- factor_cols$sim200 <- factor_cols$sim2000 <- "grp"

# (3) Edge cases.
set.seed(7)
n <- 40
no_ev <- data.frame(time = round(rexp(n, 0.1), 1) + 0.1, status = rbinom(n, 1, 0.7),
                    exposed = rep(0:1, length.out = n), x_num = rnorm(n),
                    arm = rep(c("control", "new", "other"), length.out = n),
                    stringsAsFactors = FALSE)
no_ev$status[no_ev$exposed == 1] <- 0L           # exposed level: no events
no_ev$status[no_ev$arm == "control"] <- 0L        # reference level of arm: no events
no_ev$status[no_ev$arm != "control" & no_ev$exposed == 0] <- 1L
datasets$edge_no_events_level <- no_ev
factor_cols$edge_no_events_level <- "arm"

set.seed(11)
n <- 120
ties <- data.frame(x_num = rnorm(n), x_bin = rbinom(n, 1, 0.5))
ties$time <- pmin(round(rexp(n, 0.3 * exp(0.4 * ties$x_num + 0.5 * ties$x_bin))) + 1, 6)
ties$status <- as.integer(ties$time < 6 | runif(n) < 0.3)  # administrative censoring at 6
datasets$edge_integer_ties <- ties

set.seed(5)
n <- 25
one_time <- data.frame(time = c(rep(4, 10), round(runif(15, 0.5, 8), 2)),
                       status = c(rep(1L, 10), rep(0L, 15)),
                       x_num = round(rnorm(n, 1, 2), 2))
one_time$x_num[1:10] <- one_time$x_num[1:10] + 1  # events slightly higher
datasets$edge_single_event_time <- one_time

set.seed(3)
n <- 30
sep <- data.frame(time = 1:n + 0.5, status = rep(1L, n), marker = sort(rnorm(n), decreasing = TRUE))
sep$status[c(5, 12, 20)] <- 0L
datasets$edge_separation <- sep   # higher marker -> always earlier event

set.seed(13)
n <- 40
tenths <- sample(1:12, n, replace = TRUE)
near <- data.frame(time = ifelse(runif(n) < 0.5, tenths * 0.1 * 3, tenths * 0.3),  # 0.1*3 != 0.3
                   status = rbinom(n, 1, 0.75), x_num = round(rnorm(n), 2))
datasets$edge_near_ties <- near   # coxph's timefix merges times 1 ulp apart

set.seed(17)
n <- 60
coll <- data.frame(time = round(rexp(n, 0.2), 1) + 0.1, status = rbinom(n, 1, 0.8),
                   x_num = round(rnorm(n), 3), x_bin = rbinom(n, 1, 0.5))
coll$x_double <- 2 * coll$x_num
datasets$edge_collinear <- coll   # x_double = 2 * x_num: NA in R

# ---------------------------------------------------------------- fits ----
python_terms <- function(d, covariates) {
  unlist(lapply(covariates, function(v) {
    if (is.factor(d[[v]])) paste0(v, "[", levels(d[[v]])[-1], "]") else v
  }))
}

# not_estimable: Python term names that R cannot estimate (NA, or flagged or
# visibly diverging towards an infinite coefficient)
fit_one <- function(id, dataset, duration, event, covariates, ties,
                    not_estimable = character(0)) {
  d <- datasets[[dataset]]
  for (v in factor_cols[[dataset]]) d[[v]] <- as_c_factor(d[[v]])
  d <- d[complete.cases(d[, c(duration, event, covariates)]), , drop = FALSE]
  for (v in covariates) if (is.factor(d[[v]])) d[[v]] <- droplevels(d[[v]])
  form <- as.formula(paste0("Surv(", duration, ", ", event, ") ~ ", paste(covariates, collapse = " + ")))
  warns <- character(0)
  fit <- withCallingHandlers(
    coxph(form, data = d, ties = ties),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  s <- summary(fit)
  coef <- unname(fit$coefficients)
  se <- unname(sqrt(diag(fit$var)))
  z <- coef / se
  zc <- qnorm(0.975)
  list(
    id = id, dataset = dataset, duration = duration, event = event,
    covariates = as_array(covariates), ties = ties,
    terms = as_array(python_terms(d, covariates)),
    r_terms = as_array(names(fit$coefficients)),
    coef = as_array(coef), se = as_array(se), z = as_array(z),
    p = as_array(pchisq(z^2, 1, lower.tail = FALSE)),
    hr = as_array(exp(coef)),
    hr_lower = as_array(exp(coef - zc * se)), hr_upper = as_array(exp(coef + zc * se)),
    loglik = as_array(fit$loglik),
    lr_statistic = unname(s$logtest["test"]), lr_df = unname(s$logtest["df"]),
    lr_p = unname(s$logtest["pvalue"]),
    score_statistic = unname(s$sctest["test"]), score_p = unname(s$sctest["pvalue"]),
    # summary()$waldtest rounds the statistic to 2 decimals: use fit$wald.test
    wald_statistic = unname(fit$wald.test),
    wald_p = pchisq(unname(fit$wald.test), sum(!is.na(coef)), lower.tail = FALSE),
    n = fit$n, nevent = fit$nevent, iter = fit$iter,
    warnings = as_array(warns), not_estimable = as_array(not_estimable),
    coef_is_na = as_array(is.na(coef))
  )
}

fits <- list()
add <- function(...) fits[[length(fits) + 1]] <<- fit_one(...)

for (ties in c("efron", "breslow")) {
  for (cv in list("angiosarcoma", "head_primary", "ecog", "prior_lines", "histology",
                  "primary_site", c("angiosarcoma", "head_primary", "ecog", "prior_lines"))) {
    add(paste("seed002", paste(cv, collapse = "+"), ties), "seed002", "pfs_months",
        "progressed", cv, ties)
  }
  for (ds in c("sim30", "sim200", "sim2000")) {
    for (cv in list("x_num", "x_bin", "grp", c("x_num", "age"),
                    c("x_num", "x_bin", "grp"), c("x_num", "x_bin", "grp", "age"))) {
      add(paste(ds, paste(cv, collapse = "+"), ties), ds, "time", "status", cv, ties)
    }
  }
  add(paste("integer_ties x_num+x_bin", ties), "edge_integer_ties", "time", "status",
      c("x_num", "x_bin"), ties)
  add(paste("integer_ties x_bin", ties), "edge_integer_ties", "time", "status", "x_bin", ties)
  add(paste("single_event_time x_num", ties), "edge_single_event_time", "time", "status",
      "x_num", ties)
  add(paste("near_ties x_num", ties), "edge_near_ties", "time", "status", "x_num", ties)
  add(paste("collinear x_num+x_double+x_bin", ties), "edge_collinear", "time", "status",
      c("x_num", "x_double", "x_bin"), ties, not_estimable = "x_double")
  add(paste("no_events_level exposed", ties), "edge_no_events_level", "time", "status",
      "exposed", ties, not_estimable = "exposed")
  add(paste("no_events_level exposed+x_num", ties), "edge_no_events_level", "time", "status",
      c("exposed", "x_num"), ties, not_estimable = "exposed")
  add(paste("no_events_level arm", ties), "edge_no_events_level", "time", "status",
      "arm", ties, not_estimable = c("arm[new]", "arm[other]"))
  add(paste("separation marker", ties), "edge_separation", "time", "status",
      "marker", ties, not_estimable = "marker")
}

# ------------------------------------------------------------- output ----
data_json <- lapply(names(datasets), function(nm) {
  d <- datasets[[nm]]
  list(columns = lapply(d, as_array),
       factors = as_array(if (is.null(factor_cols[[nm]])) character(0) else factor_cols[[nm]]))
})
names(data_json) <- names(datasets)

out <- list(
  meta = list(
    generated_by = "tests/reference/cox_reference.R",
    r_version = R.version.string,
    survival_version = as.character(packageVersion("survival")),
    conf_level = 0.95,
    term_naming = "numeric column x -> x; factor level L of column g -> g[L]"
  ),
  datasets = data_json,
  fits = fits
)
target <- file.path("tests", "reference", "cox_reference.json")
writeLines(to_json(out), target)
cat("wrote", target, "with", length(fits), "fits\n")
