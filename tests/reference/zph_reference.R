# Reference values for analysis/proportional_hazards.py, computed with R
# survival::cox.zph (survival 3.5: the score-test formulation).
#
# Run from the repository root:
#     Rscript tests/reference/zph_reference.R
# Writes tests/reference/zph_reference.json: each data set (columns) and, per
# ties x transform (km, rank, identity, log), cox.zph(coxph(...), transform, terms = TRUE): the table
# (chisq, df, p per term and GLOBAL), the transformed event times x, the event
# times and the scaled Schoenfeld residuals y (one column per term).
#
# JSON by tests/reference/json_writer.R with 17 significant digits;
# NA/NaN -> null.  Factor levels are sorted in C-locale order so that Python's
# sorted() gives the same reference level.

suppressPackageStartupMessages(library(survival))

source("tests/reference/json_writer.R")  # to_json, as_array

as_c_factor <- function(v) factor(v, levels = sort(unique(v[!is.na(v)]), method = "radix"))

# ------------------------------------------------------------ data sets ----
# each: data frame with time, event (0/1) and covariates; `factors` are
# character columns (factors in R, object columns in Python)
datasets <- list()
add <- function(name, description, data, covariates, factors = character()) {
  datasets[[name]] <<- list(name = name, description = description, data = data,
                            covariates = covariates, factors = factors)
}

# (1) R's lung: age, sex (1/2 numeric), ECOG as a factor (3 merged into 2+);
# rows with a missing ECOG dropped by coxph and by fit_cox alike
lung_data <- data.frame(time = lung$time, event = as.integer(lung$status == 2),
                        age = lung$age, sex = lung$sex,
                        ecog = ifelse(is.na(lung$ph.ecog), NA,
                                      ifelse(lung$ph.ecog >= 2, "2+", as.character(lung$ph.ecog))))
add("lung", "R survival lung: age + sex + ECOG factor (0, 1, 2+)", lung_data,
    c("age", "sex", "ecog"), "ecog")

# (2) R's veteran: treatment (1/2), Karnofsky score, cell type (4-level factor)
vet_data <- data.frame(time = veteran$time, event = veteran$status,
                       trt = veteran$trt, karno = veteran$karno,
                       celltype = as.character(veteran$celltype))
add("veteran", "R survival veteran: trt + karno + celltype factor", vet_data,
    c("trt", "karno", "celltype"), "celltype")

# (3) the seed-002 PFS data of survival_reference.R, binary angiosarcoma covariate
pfs <- c(5, 3.5, 3, 2.5, 2, 1.8, 1, 15, 7.8, 4, 4.5, 2, 2.8, 3, 2.8, 1.8, 1.3, 4.3, 2.5,
         1.5, 1.3, 1.8, 1.5, 1.5, 2.8, 1.3, 1.8, 1.5)
add("seed002_pfs", "seed-002 PFS (28 patients, all events, many ties); angiosarcoma = patients 8-12",
    data.frame(time = pfs, event = 1L, angiosarcoma = as.integer(seq_along(pfs) %in% 8:12)),
    "angiosarcoma")

# (4) simulated, times rounded to whole months (many ties), censoring,
# a numeric, a binary and a 3-level factor covariate with a non-proportional effect
set.seed(715)
n <- 150
age <- round(rnorm(n, 60, 10))
female <- rbinom(n, 1, 0.5)
grade <- sample(c("G1", "G2", "G3"), n, replace = TRUE)
rate <- exp(0.02 * (age - 60) + 0.5 * (grade == "G3"))
t_event <- ifelse(female == 1, rweibull(n, 0.7, 14 / rate), rweibull(n, 1.8, 12 / rate))
t_cens <- runif(n, 3, 30)
sim <- data.frame(time = pmax(1, round(pmin(t_event, t_cens))),
                  event = as.integer(t_event <= t_cens), age = age, female = female,
                  grade = grade)
add("simulated_ties", "simulated, 150 patients, whole-month times (ties), age + female + grade factor",
    sim, c("age", "female", "grade"), "grade")

# (5) a patient censored at time 0 (log(0) = -Inf at a time without deaths) and tied times
add("censored_at_zero", "8 patients, one censored at time 0: the log transform is defined at every event",
    data.frame(time = c(0, 1, 2, 3, 4, 5, 6, 7, 2, 4), event = c(0L, 1L, 1L, 0L, 1L, 1L, 0L, 1L, 1L, 0L),
               x = c(1, 0, 1, 0, 1, 1, 0, 0, 0, 1)),
    "x")

# ----------------------------------------------------------------- fits ----
cases <- list()
for (ds in datasets) {
  d <- ds$data
  for (f in ds$factors) d[[f]] <- as_c_factor(d[[f]])
  formula <- as.formula(paste("Surv(time, event) ~", paste(ds$covariates, collapse = " + ")))
  for (ties in c("efron", "breslow")) {
    fit <- coxph(formula, data = d, ties = ties)
    for (transform in c("km", "rank", "identity", "log")) {
      z <- cox.zph(fit, transform = transform, terms = TRUE)
      y <- lapply(colnames(z$y), function(term) as_array(unname(z$y[, term])))
      names(y) <- colnames(z$y)
      cases[[length(cases) + 1]] <- list(
        dataset = ds$name, ties = ties, transform = transform,
        coef = as_array(unname(coef(fit))),
        terms = as_array(rownames(z$table)),
        chisq = as_array(unname(z$table[, "chisq"])),
        df = as_array(as.integer(z$table[, "df"])),
        p = as_array(unname(z$table[, "p"])),
        x = as_array(unname(z$x)), time = as_array(unname(z$time)),
        y = y)
    }
  }
}

data_json <- lapply(datasets, function(ds) {
  cols <- lapply(ds$data, as_array)
  list(description = ds$description, covariates = as_array(ds$covariates),
       factors = as_array(ds$factors), columns = cols)
})

out <- list(generated_by = "tests/reference/zph_reference.R",
            r_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            datasets = data_json, cases = cases)
writeLines(to_json(out), "tests/reference/zph_reference.json")
cat("wrote tests/reference/zph_reference.json:", length(cases), "cases\n")
