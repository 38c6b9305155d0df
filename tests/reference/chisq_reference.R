# Reference values for the r x 2 fallback of analysis.response.response_comparison:
# when Fisher's exact enumeration is infeasible, Pearson's chi-square test (R chisq.test,
# no continuity correction for r x 2 tables). Run from the repository root:
#   Rscript tests/reference/chisq_reference.R
tables <- list(
  large_11x2 = cbind(c(120, 95, 80, 130, 60, 75, 110, 90, 45, 70, 125), c(380, 420, 350, 410, 300, 290, 400, 360, 200, 310, 390)),
  medium_5x2 = cbind(c(40, 22, 35, 18, 27), c(160, 178, 150, 190, 170)),
  skewed_8x2 = cbind(c(300, 10, 250, 5, 120, 60, 80, 40), c(700, 990, 750, 995, 880, 940, 920, 960))
)
fisher_fails <- sapply(tables, function(t) inherits(try(fisher.test(t), silent = TRUE), "try-error"))
out <- sprintf('  "%s": {"events": [%s], "non_events": [%s], "statistic": %.17g, "df": %d, "p_value": %.17g, "r_fisher_fails": %s}',
  names(tables),
  sapply(tables, function(t) paste(t[, 1], collapse = ", ")),
  sapply(tables, function(t) paste(t[, 2], collapse = ", ")),
  sapply(tables, function(t) unname(suppressWarnings(chisq.test(t))$statistic)),
  sapply(tables, function(t) as.integer(suppressWarnings(chisq.test(t))$parameter)),
  sapply(tables, function(t) suppressWarnings(chisq.test(t))$p.value),
  ifelse(fisher_fails, "true", "false"))
writeLines(c("{", paste(out, collapse = ",\n"), "}"), "tests/reference/chisq_reference.json")
