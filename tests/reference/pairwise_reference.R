# Reference values for analysis/pairwise.py (pairwise log-rank), the R na.omit handling of missing values
# in analysis/survival.py and analysis/response.subgroup_rates, and the KMunicate risk table.
#
# Run from the repository root:
#     Rscript tests/reference/pairwise_reference.R
# Writes tests/reference/pairwise_reference.json (data sets included), read by tests/test_pairwise.py.
# Only the survival package is needed (survminer is not installed): the pairwise tests are computed as
# survminer::pairwise_survdiff does them, survdiff (rho = 0) on the patients of each pair of groups, then
# p.adjust over the pairs. JSON is written by hand at %.17g; NA/NaN -> null.

suppressPackageStartupMessages(library(survival))

out_path <- file.path("tests", "reference", "pairwise_reference.json")
if (!dir.exists(dirname(out_path))) {
  stop("run from the repository root: Rscript tests/reference/pairwise_reference.R")
}

# ---------------------------------------------------------------- JSON writer (as survival_reference.R)
source(file.path("tests", "reference", "json_writer.R"))  # as_array, json_scalar, to_json, num
chr <- function(x) as_array(as.character(x))

# ---------------------------------------------------------------- pairwise log-rank
pairwise_block <- function(time, status, group) {
  levels_ <- sort(unique(as.character(group[!is.na(group)])))
  rows <- list()
  for (i in seq_len(length(levels_) - 1)) for (j in (i + 1):length(levels_)) {
    keep <- !is.na(group) & group %in% levels_[c(i, j)]
    res <- suppressWarnings(survdiff(Surv(time[keep], status[keep]) ~ group[keep]))
    df <- sum(res$exp > 0) - 1
    p <- if (df < 0) NA else pchisq(res$chisq, df, lower.tail = FALSE)
    rows[[length(rows) + 1]] <- list(group_1 = levels_[i], group_2 = levels_[j], chisq = res$chisq,
                                     df = df, p = p, n = num(res$n), observed = num(res$obs))
  }
  p <- vapply(rows, function(r) r$p, 0)
  adjusted <- list()
  for (method in c("BH", "holm", "bonferroni", "none")) adjusted[[method]] <- num(p.adjust(p, method))
  list(pairs = rows, adjusted = adjusted)
}

set.seed(20240615)
n_pw <- 60
pw_group <- rep(c("A", "B", "C", "D"), times = c(18, 15, 15, 12))
pw_time <- round(rexp(n_pw, rate = c(A = 0.08, B = 0.15, C = 0.1, D = 0.25)[pw_group]), 1)
pw_status <- rbinom(n_pw, 1, 0.75)
pw_time[c(3, 20, 40)] <- pw_time[c(4, 21, 41)]  # ties across groups

# groups without events: the pair (E, F) has none
nev_group <- rep(c("D", "E", "F"), times = c(8, 5, 4))
nev_time <- c(1, 2, 3, 4, 5, 6, 7, 8, 2.5, 3.5, 4.5, 5.5, 9, 1.5, 3, 6, 10)
nev_status <- c(1, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)

pairwise_sets <- list(
  list(name = "four_groups", time = num(pw_time), status = num(pw_status), group = chr(pw_group),
       result = pairwise_block(pw_time, pw_status, pw_group)),
  list(name = "groups_without_events", time = num(nev_time), status = num(nev_status), group = chr(nev_group),
       result = pairwise_block(nev_time, nev_status, nev_group))
)

# with missing values: na.omit before pairing (survminer's model.frame does the same)
na_time <- pw_time; na_status <- pw_status; na_group <- pw_group
na_time[c(2, 17)] <- NA
na_status[c(5, 30)] <- NA
na_group[c(9, 44, 50)] <- NA
pairwise_sets[[3]] <- list(name = "four_groups_with_missing", time = num(na_time), status = num(na_status),
                           group = chr(na_group), n_dropped = sum(is.na(na_time) | is.na(na_status) | is.na(na_group)),
                           result = pairwise_block(na_time, na_status, na_group))

# near-tied times: 1000 and 1000.00001 are one time for survdiff on A and C (their gap is under the tolerance
# relative to that pair's mean time), two times for A and B
nt_group <- rep(c("A", "B", "C"), each = 5)
nt_time <- c(3, 5, 8, 1000, 1000.00001, 2, 4, 6, 9, 11, 7, 5000, 8000, 12000, 20000)
nt_status <- c(1, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 0)
pairwise_sets[[4]] <- list(name = "near_ties_within_one_pair", time = num(nt_time), status = num(nt_status),
                           group = chr(nt_group), result = pairwise_block(nt_time, nt_status, nt_group))

# ---------------------------------------------------------------- missing values as R's na.omit
km_summary <- function(fit) {
  s <- summary(fit, censored = TRUE)
  tab <- summary(fit)$table
  list(time = num(s$time), n_risk = num(s$n.risk), n_event = num(s$n.event), surv = num(s$surv),
       lower = num(s$lower), upper = num(s$upper),
       median = num(if (is.matrix(tab)) tab[, "median"] else tab[["median"]]),
       n = num(if (is.matrix(tab)) tab[, "records"] else tab[["records"]]))
}
overall <- survfit(Surv(na_time, na_status) ~ 1)
by_group <- survfit(Surv(na_time, na_status) ~ na_group)
lr <- survdiff(Surv(na_time, na_status) ~ na_group)
missing_case <- list(
  overall = c(km_summary(overall), list(n_dropped = length(overall$na.action))),
  by_group = c(km_summary(by_group), list(n_dropped = length(by_group$na.action),
                                          strata = chr(sub("^na_group=", "", names(by_group$strata))),
                                          strata_rows = num(summary(by_group, censored = TRUE)$strata))),
  logrank = list(chisq = lr$chisq, p = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE),
                 n = num(lr$n), observed = num(lr$obs), expected = num(lr$exp),
                 n_dropped = length(lr$na.action))
)

# ---------------------------------------------------------------- KMunicate risk table
risk_times <- c(0, 2.5, 5, 7.5, 10, 15, 20, 40)
risk_fit <- survfit(Surv(pw_time, pw_status) ~ pw_group)
risk_rows <- list()
for (i in seq_along(risk_fit$strata)) {
  s <- summary(risk_fit[i], times = risk_times, extend = TRUE)
  risk_rows[[length(risk_rows) + 1]] <- list(
    group = sub("^pw_group=", "", names(risk_fit$strata)[i]), time = num(s$time), n_risk = num(s$n.risk),
    events = num(cumsum(s$n.event)), censored = num(cumsum(s$n.censor)))
}

# ---------------------------------------------------------------- subgroup rates with a not-reported level
# The level of missing values is shown (rate, Clopper-Pearson CI) but not tested: each recorded level is
# compared with the other recorded levels (x == level is NA for a missing x: na.omit), and BH counts the
# recorded levels only.
set.seed(20240616)
n_sg <- 70
sg <- data.frame(
  best_response = sample(c("CR", "PR", "SD", "PD", NA), n_sg, replace = TRUE, prob = c(.08, .22, .35, .25, .1)),
  histology = sample(c("Leiomyosarcoma", "Liposarcoma", "Synovial sarcoma", NA), n_sg, replace = TRUE,
                     prob = c(.35, .3, .2, .15)),
  sex = sample(c("female", "male", NA), n_sg, replace = TRUE, prob = c(.45, .45, .1)),
  stringsAsFactors = FALSE
)
endpoint_categories <- list(orr = c("CR", "PR"), dcr = c("CR", "PR", "SD"))
subgroup_rows <- list()
for (endpoint in names(endpoint_categories)) {
  block <- list()
  responder <- sg$best_response %in% endpoint_categories[[endpoint]]
  for (column in c("histology", "sex")) {
    x <- sg[[column]]
    for (level in sort(unique(x[!is.na(x)]))) {
      in_level <- !is.na(x) & x == level
      rest <- !is.na(x) & x != level
      k <- sum(responder[in_level]); n <- sum(in_level)
      k_rest <- sum(responder[rest]); n_rest <- sum(rest)
      ci <- as.numeric(binom.test(k, n)$conf.int)
      p <- fisher.test(matrix(c(k, n - k, k_rest, n_rest - k_rest), 2, byrow = TRUE))$p.value
      block[[length(block) + 1]] <- list(subgroup = column, level = level, n = n, k = k, rate = k / n,
                                         lower = ci[1], upper = ci[2], p_value = p)
    }
    k <- sum(responder[is.na(x)]); n <- sum(is.na(x))
    ci <- as.numeric(binom.test(k, n)$conf.int)
    block[[length(block) + 1]] <- list(subgroup = column, level = NA_character_, n = n, k = k, rate = k / n,
                                       lower = ci[1], upper = ci[2], p_value = NA_real_)
  }
  adjusted <- p.adjust(vapply(block, function(r) r$p_value, 0), "BH")
  for (i in seq_along(block)) {
    block[[i]]$p_adjusted <- adjusted[i]
    block[[i]]$endpoint <- endpoint
  }
  subgroup_rows <- c(subgroup_rows, block)
}

reference <- list(
  generated_with = paste(R.version.string, "| survival", as.character(packageVersion("survival"))),
  pairwise = pairwise_sets,
  missing = list(time = num(na_time), status = num(na_status), group = chr(na_group), fits = missing_case),
  risk_table = list(time = num(pw_time), status = num(pw_status), group = chr(pw_group),
                    times = num(risk_times), rows = risk_rows),
  subgroup = list(best_response = chr(sg$best_response), histology = chr(sg$histology), sex = chr(sg$sex),
                  rows = subgroup_rows)
)
writeLines(to_json(reference), out_path, useBytes = TRUE)
cat("wrote", out_path, "\n")
