# Reference values for analysis/hierarchical.py: the hierarchical (EX) and EXNEX response models sampled by JAGS.
#
# Run from the repository root (Debian packages jags and r-cran-rjags):
#     Rscript tests/reference/hierarchical_reference.R
# Writes tests/reference/hierarchical_reference.json (data included), read by tests/test_hierarchical.py.
#
# Model (the module docstring of analysis/hierarchical.py states the same):
#   y_j ~ Bin(n_j, p_j), logit(p_j) = theta_j
#   EX:    theta_j = mu + tau z_j, z_j ~ N(0, 1)        (non-centred: mixes well when tau is near 0)
#   EXNEX: theta_j = ex_j (mu + tau z_j) + (1 - ex_j) nu_j, ex_j ~ Bernoulli(w), nu_j ~ N(nex_mean, nex_sd^2)
#   mu ~ N(mu_mean, mu_sd^2), tau ~ half-normal(tau_scale)
# Data: the imatinib basket trial of Chugh et al. (J Clin Oncol 2009; 10 subtypes) under each heterogeneity
# prior and both models, and three random sets (seeded).
# Per subtype: posterior median, 2.5% and 97.5% quantiles and mean of p_j, P(p_j > threshold), and (EXNEX)
# P(ex_j = 1); for tau its median. Monte Carlo standard error of each by batch means: each chain's draws cut
# into 25 batches, the quantity computed per batch, MCSE = sd(batch values) / sqrt(number of batches).

suppressPackageStartupMessages(library(rjags))

out_path <- file.path("tests", "reference", "hierarchical_reference.json")
if (!dir.exists(dirname(out_path))) {
  stop("run from the repository root: Rscript tests/reference/hierarchical_reference.R")
}
source(file.path("tests", "reference", "json_writer.R"))  # as_array, json_scalar, to_json, num

N_CHAINS <- 4
N_ITER <- 50000
N_BURN <- 5000
N_BATCH <- 25
SCALES <- c(small = 0.5, moderate = 1, large = 2)  # analysis.methods.HETEROGENEITY_SCALES
PRIOR <- list(mu_mean = 0, mu_sd = 2, nex_mean = 0, nex_sd = 2, w = 0.5)

EX_MODEL <- "model {
  for (j in 1:J) {
    y[j] ~ dbin(p[j], n[j])
    logit(p[j]) <- mu + tau * z[j]
    z[j] ~ dnorm(0, 1)
  }
  mu ~ dnorm(mu_mean, 1 / (mu_sd * mu_sd))
  tau ~ dnorm(0, 1 / (tau_scale * tau_scale)) T(0, )
}"

EXNEX_MODEL <- "model {
  for (j in 1:J) {
    y[j] ~ dbin(p[j], n[j])
    logit(p[j]) <- ex[j] * (mu + tau * z[j]) + (1 - ex[j]) * nu[j]
    ex[j] ~ dbern(w)
    z[j] ~ dnorm(0, 1)
    nu[j] ~ dnorm(nex_mean, 1 / (nex_sd * nex_sd))
  }
  mu ~ dnorm(mu_mean, 1 / (mu_sd * mu_sd))
  tau ~ dnorm(0, 1 / (tau_scale * tau_scale)) T(0, )
}"

batch_stat <- function(chains, f) {
  # chains: list of vectors (one per chain); f: draws -> number. Returns c(estimate, mcse).
  values <- unlist(lapply(chains, function(x) {
    idx <- split(seq_along(x), cut(seq_along(x), N_BATCH, labels = FALSE))
    vapply(idx, function(i) f(x[i]), numeric(1))
  }))
  c(f(unlist(chains)), sd(values) / sqrt(length(values)))
}

run_case <- function(y, n, model, scale_name, threshold, seed) {
  data <- list(y = y, n = n, J = length(y), mu_mean = PRIOR$mu_mean, mu_sd = PRIOR$mu_sd,
               tau_scale = SCALES[[scale_name]])
  if (model == "exnex") data <- c(data, list(w = PRIOR$w, nex_mean = PRIOR$nex_mean, nex_sd = PRIOR$nex_sd))
  inits <- lapply(seq_len(N_CHAINS), function(i) list(.RNG.name = "base::Mersenne-Twister", .RNG.seed = seed + i))
  jm <- jags.model(textConnection(if (model == "ex") EX_MODEL else EXNEX_MODEL), data = data, inits = inits,
                   n.chains = N_CHAINS, quiet = TRUE)
  update(jm, N_BURN, progress.bar = "none")
  monitor <- c("p", "tau", if (model == "exnex") "ex")
  draws <- coda.samples(jm, monitor, n.iter = N_ITER, progress.bar = "none")
  column <- function(name) lapply(draws, function(chain) as.numeric(chain[, name]))
  stats <- list(median = function(x) median(x), lower = function(x) unname(quantile(x, 0.025)),
                upper = function(x) unname(quantile(x, 0.975)), mean = function(x) mean(x),
                p_exceed = function(x) mean(x > threshold))
  out <- list()
  for (s in names(stats)) {
    est <- t(vapply(seq_along(y), function(j) batch_stat(column(sprintf("p[%d]", j)), stats[[s]]), numeric(2)))
    out[[s]] <- num(est[, 1])
    out[[paste0(s, "_mcse")]] <- num(est[, 2])
  }
  if (model == "exnex") {
    est <- t(vapply(seq_along(y), function(j) batch_stat(column(sprintf("ex[%d]", j)), mean), numeric(2)))
    out$p_exchangeable <- num(est[, 1])
    out$p_exchangeable_mcse <- num(est[, 2])
  }
  tau <- batch_stat(column("tau"), median)
  out$tau_median <- tau[1]
  out$tau_median_mcse <- tau[2]
  c(list(model = model, tau_scale = scale_name, threshold = threshold, y = as_array(as.integer(y)),
         n = as_array(as.integer(n))), out)
}

datasets <- list(list(name = "chugh2009", y = c(2, 0, 1, 6, 7, 3, 5, 1, 0, 3),
                      n = c(15, 13, 12, 28, 29, 29, 26, 5, 2, 20), threshold = 0.2,
                      settings = expand.grid(model = c("ex", "exnex"), scale = names(SCALES),
                                             stringsAsFactors = FALSE)))
set.seed(20261201)
for (k in 1:3) {
  J <- c(4, 7, 12)[k]
  n <- sample(1:30, J, replace = TRUE)
  y <- rbinom(J, n, runif(J, 0.02, 0.6))
  datasets[[k + 1]] <- list(name = paste0("random", k), y = y, n = n, threshold = c(0.2, 0.3, 0.1)[k],
                            settings = data.frame(model = c("ex", "exnex"), scale = c("moderate", "large")[k %% 2 + 1],
                                                  stringsAsFactors = FALSE))
}

cases <- list()
seed <- 1000
for (d in datasets) {
  for (i in seq_len(nrow(d$settings))) {
    seed <- seed + 10
    case <- run_case(d$y, d$n, d$settings$model[i], d$settings$scale[i], d$threshold, seed)
    cases[[length(cases) + 1]] <- c(list(dataset = d$name), case)
    message(d$name, " ", d$settings$model[i], " ", d$settings$scale[i], " done")
  }
}

result <- list(
  generated_by = "tests/reference/hierarchical_reference.R",
  jags = as.character(jags.version()), rjags = as.character(packageVersion("rjags")),
  chains = N_CHAINS, iterations = N_ITER, burn_in = N_BURN, batches_per_chain = N_BATCH,
  prior = PRIOR, scales = as.list(SCALES), cases = cases
)
writeLines(to_json(result), out_path)
