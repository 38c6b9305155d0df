# Reference values for analysis/firth.py (Firth-penalised Cox, as R coxphf).
#
# Run from the repository root:
#     Rscript tests/reference/firth_reference.R
# Writes tests/reference/firth_reference.json (data sets + fitted results).
#
# JSON by tests/reference/json_writer.R with 17 significant
# digits; NA/NaN -> null.  Factor levels are sorted in C-locale order so that
# Python's sorted() gives the same reference level.  Python term names are
# recorded beside R's: numeric column "x" -> "x", factor level L of column
# "g" -> "g[L]".

#
# coxphf is not installed, so the penalised partial likelihood of Heinze &
# Schemper (2001), l*(beta) = l(beta) + 1/2 log det I(beta), is maximised here
# independently of the Python code: l(beta) and I(beta)^-1 at a given beta are
# survival::coxph(..., ties = "breslow", init = beta, iter.max = 0)$loglik[2]
# and $var; optim (BFGS, central-difference gradient) finds the maximum and
# uniroot the profile penalised-likelihood limits
# 2 (l*(beta_hat) - max l*(beta | beta_r = b)) = qchisq(1 - alpha, 1);
# the p-value is the penalised likelihood-ratio test of beta_r = 0.

suppressPackageStartupMessages(library(survival))

source("tests/reference/json_writer.R")  # to_json, as_array

# ------------------------------------------------- penalised likelihood ----
# X: numeric design matrix (columns = terms), time, status 0/1.
penalised_loglik <- function(beta, time, status, X) {
  fit <- coxph(Surv(time, status) ~ X, ties = "breslow", init = beta,
               control = coxph.control(iter.max = 0, toler.chol = 1e-300))
  # far out (a step of optim into the monotone direction) I(beta) is numerically
  # singular: a very low value there sends optim back
  if (any(!is.finite(fit$var)) || any(diag(fit$var) <= 0)) return(-1e10)
  information <- tryCatch(solve(fit$var), error = function(e) NULL)
  if (is.null(information)) return(-1e10)
  fit$loglik[2] + 0.5 * as.numeric(determinant(information, logarithm = TRUE)$modulus)
}

central_gradient <- function(f, beta, h = 1e-5) {
  vapply(seq_along(beta), function(j) {
    e <- replace(numeric(length(beta)), j, h)
    (f(beta + e) - f(beta - e)) / (2 * h)
  }, 0)
}

maximise <- function(f, start) {
  if (length(start) == 0) return(list(par = start, value = f(start)))
  fit <- optim(start, f, gr = function(b) central_gradient(f, b), method = "BFGS",
               control = list(fnscale = -1, reltol = 1e-16, maxit = 5000))
  # a second pass from the optimum, for a tight maximum
  fit <- optim(fit$par, f, gr = function(b) central_gradient(f, b), method = "BFGS",
               control = list(fnscale = -1, reltol = 1e-16, maxit = 5000))
  list(par = fit$par, value = fit$value)
}

firth_fit <- function(time, status, X, alpha = 0.05) {
  X <- as.matrix(X)
  p <- ncol(X)
  f <- function(b) penalised_loglik(b, time, status, X)
  best <- maximise(f, rep(0, p))
  beta <- best$par
  var <- coxph(Surv(time, status) ~ X, ties = "breslow", init = beta,
               control = coxph.control(iter.max = 0))$var
  se <- sqrt(diag(var))
  profile <- function(r, b) {  # max l* with beta_r fixed at b
    g <- function(others) f(append(others, b, after = r - 1))
    maximise(g, beta[-r])$value
  }
  critical <- qchisq(1 - alpha, 1)
  lower <- upper <- p_value <- numeric(p)
  for (r in seq_len(p)) {
    deviance <- function(b) 2 * (best$value - profile(r, b)) - critical
    p_value[r] <- pchisq(2 * (best$value - profile(r, 0)), 1, lower.tail = FALSE)
    width <- max(se[r], 0.1)
    lower[r] <- uniroot(deviance, c(beta[r] - width, beta[r]), extendInt = "downX",
                        tol = 1e-11, maxiter = 1000)$root
    upper[r] <- uniroot(deviance, c(beta[r], beta[r] + width), extendInt = "upX",
                        tol = 1e-11, maxiter = 1000)$root
  }
  # the ordinary (unpenalised) Cox fit, to show what it does with these data
  ordinary <- suppressWarnings(coxph(Surv(time, status) ~ X, ties = "breslow"))
  list(coef = as_array(beta), se = as_array(se), hr = as_array(exp(beta)),
       hr_lower = as_array(exp(lower)), hr_upper = as_array(exp(upper)),
       p = as_array(p_value), penalised_loglik = best$value,
       ordinary_coef = as_array(unname(coef(ordinary))),
       n = length(time), events = sum(status))
}

# ------------------------------------------------------------ data sets ----
c_sort <- function(v) sort(unique(v[!is.na(v)]), method = "radix")  # C-locale order
design <- function(data, covariates, factors) {
  columns <- list(); names_py <- character(0)
  for (cov in covariates) {
    if (cov %in% factors) {
      levels <- c_sort(data[[cov]])
      for (level in levels[-1]) {
        columns[[length(columns) + 1]] <- as.numeric(data[[cov]] == level)
        names_py <- c(names_py, sprintf("%s[%s]", cov, level))
      }
    } else {
      columns[[length(columns) + 1]] <- as.numeric(data[[cov]])
      names_py <- c(names_py, cov)
    }
  }
  X <- do.call(cbind, columns)
  colnames(X) <- names_py
  X
}

datasets <- list()
cases <- list()
add_case <- function(name, data, covariates, factors = character(0)) {
  data <- data[complete.cases(data[, c("time", "status", covariates)]), ]
  X <- design(data, covariates, factors)
  result <- firth_fit(data$time, data$status, X)
  columns <- lapply(as.list(data[, c("time", "status", covariates)]), as_array)
  datasets[[name]] <<- list(columns = columns, factors = as_array(factors))
  cases[[length(cases) + 1]] <<- c(list(name = name, dataset = name, duration = "time",
                                        event = "status", covariates = as_array(covariates),
                                        terms = as_array(colnames(X))), result)
}

# 1. a group without events: the ordinary Cox HR runs off to 0 (monotone likelihood)
set.seed(20260101)
n <- 24
monotone <- data.frame(time = round(rexp(n, 0.1), 1) + 0.1,
                       status = rbinom(n, 1, 0.7),
                       group = rep(c(0, 1), c(16, 8)),
                       age = round(rnorm(n, 60, 10)))
monotone$status[monotone$group == 1] <- 0
add_case("no_events_in_group", monotone, c("group"))
add_case("no_events_in_group_adjusted", monotone, c("group", "age"))

# 2. a factor with a one-patient level whose patient has the first death (infinite HR)
set.seed(7)
n <- 30
single <- data.frame(time = round(runif(n, 2, 40)), status = rbinom(n, 1, 0.6),
                     site = sample(c("arm", "leg"), n, replace = TRUE), x = round(rnorm(n), 2))
single$site[1] <- "head"; single$time[1] <- 1; single$status[1] <- 1
add_case("one_patient_level", single, c("site", "x"), factors = "site")

# 3. R's lung data: a subset with tied death times (Breslow ties)
lung_subset <- lung[1:80, c("time", "status", "age", "sex", "ph.ecog")]
lung_subset$status <- lung_subset$status - 1
add_case("lung_subset", lung_subset, c("age", "sex", "ph.ecog"))
add_case("lung_sex", lung_subset, c("sex"))

out <- list(generated_by = "tests/reference/firth_reference.R",
            r_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            datasets = datasets, cases = cases)
writeLines(to_json(out), "tests/reference/firth_reference.json")
