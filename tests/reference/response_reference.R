# Reference values for analysis/response.py, analysis/multiplicity.py and
# analysis/adverse_events.py, computed with base R (stats) only.
#
# Run from the repository root:
#   Rscript tests/reference/response_reference.R [output.json]
# The default output is tests/reference/response_reference.json.
#
# The synthetic patient data sets are generated here (fixed seed) and written
# into the JSON next to the expected results, so the Python tests analyse
# exactly the data R analysed.

args <- commandArgs(trailingOnly = TRUE)
out_path <- if (length(args) >= 1) args[[1]] else "tests/reference/response_reference.json"

# ---------------------------------------------------------------- JSON writer
# jsonlite is not available, so a minimal writer: named list -> object,
# unnamed list -> array, I(vector) -> array, length-1 vector -> scalar.
# Numbers use 17 significant digits; NA -> null; +/-Inf -> "Inf" / "-Inf".
json_scalar <- function(v) {
  if (is.na(v)) return("null")
  if (is.logical(v)) return(if (v) "true" else "false")
  if (is.numeric(v)) {
    if (is.infinite(v)) return(if (v > 0) "\"Inf\"" else "\"-Inf\"")
    return(sprintf("%.17g", v))
  }
  s <- gsub("\\\\", "\\\\\\\\", as.character(v))
  s <- gsub("\"", "\\\\\"", s)
  paste0("\"", s, "\"")
}
to_json <- function(x, indent = "") {
  inner <- paste0(indent, "  ")
  if (is.list(x)) {
    if (length(x) == 0) return(if (is.null(names(x))) "[]" else "{}")
    items <- vapply(x, to_json, "", indent = inner)
    if (!is.null(names(x))) {
      items <- paste0(vapply(names(x), json_scalar, ""), ": ", items)
      return(paste0("{\n", inner, paste(items, collapse = paste0(",\n", inner)), "\n", indent, "}"))
    }
    return(paste0("[\n", inner, paste(items, collapse = paste0(",\n", inner)), "\n", indent, "]"))
  }
  if (inherits(x, "AsIs") || length(x) != 1) {
    x <- unclass(x)
    return(paste0("[", paste(vapply(seq_along(x), function(i) json_scalar(x[i]), ""), collapse = ", "), "]"))
  }
  json_scalar(x)
}
# data.frame -> list of row objects
rows_of <- function(df) {
  lapply(seq_len(nrow(df)), function(i) as.list(df[i, , drop = FALSE]))
}

ref <- list(
  generated_by = "tests/reference/response_reference.R",
  r_version = R.version.string
)

# ------------------------------------------------ single proportion intervals
jeffreys_ci <- function(k, n, alpha) {
  # Brown, Cai & DasGupta (2001) boundary modification
  lower <- if (k == 0) 0 else qbeta(alpha / 2, k + 0.5, n - k + 0.5)
  upper <- if (k == n) 1 else qbeta(1 - alpha / 2, k + 0.5, n - k + 0.5)
  c(lower, upper)
}
grid <- rbind(
  c(0, 1), c(1, 1), c(0, 2), c(1, 2), c(0, 5), c(1, 5), c(2, 5), c(5, 5),
  c(0, 10), c(3, 10), c(10, 10), c(0, 28), c(1, 28), c(7, 28), c(14, 28),
  c(27, 28), c(28, 28), c(12, 24), c(0, 24), c(24, 24), c(1, 100),
  c(50, 100), c(99, 100), c(17, 250)
)
proportion_rows <- list()
for (alpha in c(0.05, 0.1)) {
  for (i in seq_len(nrow(grid))) {
    k <- grid[i, 1]; n <- grid[i, 2]
    cp <- binom.test(k, n, conf.level = 1 - alpha)$conf.int
    # prop.test warns about the chi-square approximation for small n; only the
    # score interval is used here.
    wilson <- suppressWarnings(
      prop.test(k, n, correct = FALSE, conf.level = 1 - alpha)$conf.int)
    jeff <- jeffreys_ci(k, n, alpha)
    proportion_rows[[length(proportion_rows) + 1]] <- list(
      k = k, n = n, alpha = alpha, estimate = k / n,
      clopper_pearson = I(as.numeric(cp)),
      wilson = I(as.numeric(wilson)),
      jeffreys = I(jeff)
    )
  }
}
ref$proportion_ci <- proportion_rows

# --------------------------------------------------------- Fisher exact tests
tables_2x2 <- list(
  c(7, 21, 2, 26), c(3, 1, 1, 3), c(0, 10, 5, 5), c(10, 0, 0, 10),
  c(5, 5, 5, 5), c(1, 9, 1, 9), c(12, 12, 6, 22), c(0, 5, 0, 7),
  c(14, 14, 9, 20), c(2, 0, 0, 1), c(25, 75, 40, 60), c(1, 0, 3, 0),
  c(0, 0, 0, 0)
)
fisher_2x2_rows <- list()
for (cells in tables_2x2) {
  for (conf in c(0.95, 0.9)) {
    tab <- matrix(cells, 2, byrow = TRUE)
    ft <- fisher.test(tab, conf.level = conf)
    fisher_2x2_rows[[length(fisher_2x2_rows) + 1]] <- list(
      table = I(cells), conf_level = conf, p_value = ft$p.value,
      odds_ratio = if (is.null(ft$estimate)) NA else unname(ft$estimate),
      conf_int = I(if (is.null(ft$conf.int)) c(NA, NA) else as.numeric(ft$conf.int))
    )
  }
}
ref$fisher_2x2 <- fisher_2x2_rows

# registry-size 2 x 2 tables (a subgroup level vs the rest of 100,000 patients): p-values only
tables_2x2_large <- list(
  c(3021, 6979, 27012, 62988), c(9000, 21000, 21500, 48500), c(150, 850, 29850, 69150),
  c(30000, 20000, 0, 50000), c(2500, 2500, 2400, 2600), c(41, 4959, 5200, 89800),
  c(15000, 35000, 14000, 36000), c(0, 3000, 28000, 69000)
)
fisher_2x2_large_rows <- list()
for (cells in tables_2x2_large) {
  tab <- matrix(cells, 2, byrow = TRUE)
  fisher_2x2_large_rows[[length(fisher_2x2_large_rows) + 1]] <- list(
    table = I(cells), p_value = fisher.test(tab)$p.value
  )
}
ref$fisher_2x2_large <- fisher_2x2_large_rows

# r x 2 tables, row = group, columns = responders / non-responders
tables_rx2 <- list(
  c(7, 21, 2, 26, 5, 5),
  c(3, 0, 4, 0, 0, 5),
  c(1, 3, 0, 0, 2, 5),
  c(2, 8, 2, 8, 2, 8),
  c(0, 6, 1, 5, 2, 4, 3, 3),
  c(5, 10, 8, 7, 1, 14, 6, 9, 3, 12),
  c(12, 30, 4, 40, 9, 21),
  c(1, 1, 1, 1, 1, 1),
  c(0, 4, 0, 6, 0, 3),
  c(3, 22, 8, 17, 5, 20, 12, 13, 6, 19, 9, 16)
)
fisher_rx2_rows <- list()
for (cells in tables_rx2) {
  tab <- matrix(cells, ncol = 2, byrow = TRUE)
  fisher_rx2_rows[[length(fisher_rx2_rows) + 1]] <- list(
    table = I(cells), n_rows = nrow(tab), p_value = fisher.test(tab)$p.value
  )
}
ref$fisher_rx2 <- fisher_rx2_rows

# ------------------------------------------------------------ p.adjust
p_vectors <- list(
  c(0.01, 0.04, 0.04, 0.2, 0.5),
  c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216),
  c(0.02, NA, 0.03, 0.03, NA, 0.9),
  c(0.5, 0.5, 0.5),
  c(0.3),
  c(NA, 0.04),
  c(1, 0, 0.05, 0.0125, 0.0125)
)
p_adjust_rows <- list()
for (p in p_vectors) {
  for (method in c("BH", "holm", "bonferroni")) {
    p_adjust_rows[[length(p_adjust_rows) + 1]] <- list(
      p = I(p), method = method, adjusted = I(p.adjust(p, method))
    )
  }
}
ref$p_adjust <- p_adjust_rows

# ----------------------------------------------------- response data sets
# Published single-arm example (seed 002): 1 CR, 6 PR, 7 SD, 12 PD, 2 NE.
seed002 <- c("CR", rep("PR", 6), rep("SD", 7), rep("PD", 12), NA, NA)
seed002_ci <- list(
  orr = I(c(7 / 28, as.numeric(binom.test(7, 28)$conf.int))),
  dcr = I(c(14 / 28, as.numeric(binom.test(14, 28)$conf.int)))
)
ref$seed002 <- list(best_response = I(seed002), all_treated = seed002_ci)

set.seed(20240501)
n_patients <- 72
arm <- sample(c("A", "B", "C"), n_patients, replace = TRUE, prob = c(0.4, 0.35, 0.25))
histology <- sample(c("LMS", "Liposarcoma", "UPS", "Synovial"), n_patients, replace = TRUE)
histology[c(5, 33, 61)] <- NA
sex <- sample(c("F", "M"), n_patients, replace = TRUE)
best_response <- character(n_patients)
for (i in seq_len(n_patients)) {
  probs <- switch(arm[i],
    A = c(0.05, 0.30, 0.30, 0.25, 0.10),
    B = c(0.02, 0.10, 0.35, 0.43, 0.10),
    C = c(0.00, 0.05, 0.30, 0.50, 0.15))
  best_response[i] <- sample(c("CR", "PR", "SD", "PD", "NE"), 1, prob = probs)
}
best_response[best_response == "NE"] <- NA
patients <- data.frame(
  patient_id = sprintf("S%03d", seq_len(n_patients)),
  arm = arm, histology = histology, sex = sex, best_response = best_response,
  stringsAsFactors = FALSE
)
ref$response_data <- list(
  patient_id = I(patients$patient_id), arm = I(patients$arm),
  histology = I(patients$histology), sex = I(patients$sex),
  best_response = I(patients$best_response)
)

endpoint_categories <- list(orr = c("CR", "PR"), dcr = c("CR", "PR", "SD"))
response_summary <- function(resp, denominator) {
  counts <- sapply(c("CR", "PR", "SD", "PD"), function(cat) sum(resp == cat, na.rm = TRUE))
  n_eval <- sum(!is.na(resp))
  den <- if (denominator == "all") length(resp) else n_eval
  row <- list(
    n_treated = length(resp), n_evaluable = n_eval,
    n_not_evaluable = length(resp) - n_eval,
    CR = counts[["CR"]], PR = counts[["PR"]], SD = counts[["SD"]], PD = counts[["PD"]],
    denominator = den
  )
  for (endpoint in names(endpoint_categories)) {
    k <- sum(resp %in% endpoint_categories[[endpoint]])
    ci <- if (den > 0) as.numeric(binom.test(k, den)$conf.int) else c(NA, NA)
    row[[paste0(endpoint, "_count")]] <- k
    row[[endpoint]] <- if (den > 0) k / den else NA
    row[[paste0(endpoint, "_lower")]] <- ci[1]
    row[[paste0(endpoint, "_upper")]] <- ci[2]
  }
  row
}
response_rows <- list()
for (denominator in c("all", "evaluable")) {
  for (group in c("A", "B", "C", "All")) {
    resp <- if (group == "All") patients$best_response else patients$best_response[patients$arm == group]
    row <- c(list(group = group, denominator_type = denominator), response_summary(resp, denominator))
    response_rows[[length(response_rows) + 1]] <- row
  }
}
ref$response_table <- response_rows

# Between-arm comparisons (Fisher exact), all arms and A vs B.
comparison_rows <- list()
for (denominator in c("all", "evaluable")) {
  for (endpoint in names(endpoint_categories)) {
    for (arms in list(c("A", "B", "C"), c("A", "B"))) {
      k <- n <- numeric(0)
      for (a in arms) {
        resp <- patients$best_response[patients$arm == a]
        if (denominator == "evaluable") resp <- resp[!is.na(resp)]
        k <- c(k, sum(resp %in% endpoint_categories[[endpoint]]))
        n <- c(n, length(resp))
      }
      ft <- fisher.test(cbind(k, n - k))
      comparison_rows[[length(comparison_rows) + 1]] <- list(
        denominator_type = denominator, endpoint = endpoint, arms = I(arms),
        responders = I(k), denominators = I(n), p_value = ft$p.value,
        odds_ratio = if (length(arms) == 2) unname(ft$estimate) else NA,
        conf_int = I(if (length(arms) == 2) as.numeric(ft$conf.int) else c(NA, NA))
      )
    }
  }
}
ref$response_comparison <- comparison_rows

# Subgroup (forest plot) table: each level versus the rest, BH across rows.
subgroup_rows <- list()
for (denominator in c("all", "evaluable")) {
  for (endpoint in names(endpoint_categories)) {
    block <- list()
    for (column in c("arm", "histology", "sex")) {
      levels_of <- ifelse(is.na(patients[[column]]), "Missing", patients[[column]])
      keep <- if (denominator == "all") rep(TRUE, n_patients) else !is.na(patients$best_response)
      responder <- patients$best_response %in% endpoint_categories[[endpoint]]
      for (level in sort(unique(levels_of))) {
        in_level <- levels_of == level & keep
        rest <- levels_of != level & keep
        k <- sum(responder[in_level]); n <- sum(in_level)
        k_rest <- sum(responder[rest]); n_rest <- sum(rest)
        ci <- as.numeric(binom.test(k, n)$conf.int)
        p <- fisher.test(matrix(c(k, n - k, k_rest, n_rest - k_rest), 2, byrow = TRUE))$p.value
        block[[length(block) + 1]] <- list(
          subgroup = column, level = level, n = n, k = k, rate = k / n,
          lower = ci[1], upper = ci[2], p_value = p
        )
      }
    }
    adjusted <- p.adjust(vapply(block, function(r) r$p_value, 0), "BH")
    for (i in seq_along(block)) {
      block[[i]]$p_adjusted <- adjusted[i]
      block[[i]]$denominator_type <- denominator
      block[[i]]$endpoint <- endpoint
    }
    subgroup_rows <- c(subgroup_rows, block)
  }
}
ref$subgroup_rates <- subgroup_rows

# ------------------------------------------------------ adverse events
set.seed(20240502)
ae_terms <- c("Fatigue", "Nausea", "Neutropenia", "Anaemia", "Alopecia",
              "Febrile neutropenia", "Thrombocytopenia")
ae_patients <- data.frame(
  patient_id = sprintf("P%02d", 1:26),
  arm = rep(c("A", "B"), each = 13),
  stringsAsFactors = FALSE
)
ae_rows <- list()
for (pid in ae_patients$patient_id[!(ae_patients$patient_id %in% c("P13", "P26"))]) {
  n_events <- sample(1:6, 1)
  terms <- sample(ae_terms, n_events, replace = TRUE,
                  prob = c(0.25, 0.2, 0.15, 0.15, 0.1, 0.05, 0.1))
  grades <- sample(1:4, n_events, replace = TRUE, prob = c(0.4, 0.3, 0.2, 0.1))
  ae_rows[[length(ae_rows) + 1]] <- data.frame(patient_id = pid, term = terms, grade = grades,
                                               stringsAsFactors = FALSE)
}
ae_long <- do.call(rbind, ae_rows)
# A fatal event and a repeated term at two grades for one patient.
ae_long <- rbind(ae_long,
  data.frame(patient_id = "P07", term = "Febrile neutropenia", grade = 5),
  data.frame(patient_id = "P15", term = "Nausea", grade = c(1, 3)))
ref$ae_data <- list(
  ae = list(patient_id = I(ae_long$patient_id), term = I(ae_long$term), grade = I(ae_long$grade)),
  patients = list(patient_id = I(ae_patients$patient_id), arm = I(ae_patients$arm))
)

worst <- aggregate(grade ~ patient_id, data = ae_long, FUN = max)
count <- aggregate(grade ~ patient_id, data = ae_long, FUN = length)
per_patient <- merge(ae_patients, merge(worst, count, by = "patient_id", suffixes = c("_worst", "_count")),
                     by = "patient_id", all.x = TRUE)
names(per_patient)[names(per_patient) == "grade_worst"] <- "worst_grade"
names(per_patient)[names(per_patient) == "grade_count"] <- "n_events"
per_patient$n_events[is.na(per_patient$n_events)] <- 0
per_patient$events_category <- as.character(cut(per_patient$n_events, c(-Inf, 0, 2, Inf),
                                                labels = c("0", "1-2", ">=3")))
per_patient$any_grade_3plus <- !is.na(per_patient$worst_grade) & per_patient$worst_grade >= 3
ref$ae_per_patient <- rows_of(per_patient)

bands <- list(c("1-2", 1, 2), c("3-4", 3, 4), c("5", 5, 5), c("Any grade", 1, 5))
ae_table_rows <- list()
for (group in c("A", "B", "All")) {
  ids <- if (group == "All") ae_patients$patient_id else ae_patients$patient_id[ae_patients$arm == group]
  for (term in c("Any adverse event", ae_terms)) {
    for (band in bands) {
      low <- as.numeric(band[2]); high <- as.numeric(band[3])
      hit <- ae_long$patient_id %in% ids & ae_long$grade >= low & ae_long$grade <= high
      if (term != "Any adverse event") hit <- hit & ae_long$term == term
      k <- length(unique(ae_long$patient_id[hit]))
      n <- length(ids)
      ci <- as.numeric(binom.test(k, n)$conf.int)
      ae_table_rows[[length(ae_table_rows) + 1]] <- list(
        group = group, term = term, band = band[1], n_patients = k, denominator = n,
        percent = 100 * k / n, percent_lower = 100 * ci[1], percent_upper = 100 * ci[2]
      )
    }
  }
}
ref$ae_table <- ae_table_rows

writeLines(to_json(ref), out_path)
cat("wrote", out_path, "\n")
