# Reference values for the standard-format fixtures (tests/fixtures/formats), computed with R survival.
#
# Run from the repository root:
#     Rscript tests/reference/formats_reference.R
# Writes tests/reference/formats_reference.json, read by tests/test_formats.py and
# tests/browser/test_formats_browser.py. Each fixture is read here independently of the app, by its
# format's own rules: cBioPortal status by its numeric prefix; ADaM AVAL by AVALU (days / 30.4375),
# event = CNSR == 0, best response from ADRS PARAMCD BOR (NON-CR/NON-PD and MISSING not responses);
# REDCap raw codes (best_response 1 = CR, 2 = PR), days / 30.4375.

suppressPackageStartupMessages({library(survival); library(foreign)})
source(file.path("tests", "reference", "json_writer.R"))
dir <- file.path("tests", "fixtures", "formats")

km <- function(time, event) {
  keep <- !is.na(time) & !is.na(event)
  fit <- survfit(Surv(time[keep], event[keep]) ~ 1, conf.type = "log")
  tab <- summary(fit)$table
  at6 <- summary(fit, times = 6, extend = TRUE)
  list(n = as.numeric(fit$n), events = as.numeric(tab[["events"]]), median = as.numeric(tab[["median"]]),
       median_lower = as.numeric(tab[["0.95LCL"]]), median_upper = as.numeric(tab[["0.95UCL"]]),
       s6 = as.numeric(at6$surv), s6_lower = as.numeric(at6$lower), s6_upper = as.numeric(at6$upper))
}

orr <- function(response, n_all) {
  k <- sum(response %in% c("CR", "PR"))
  ci <- binom.test(k, n_all)$conf.int
  list(responders = k, n = n_all, evaluable = sum(response %in% c("CR", "PR", "SD", "PD")),
       rate = k / n_all, lower = ci[1], upper = ci[2])
}

# cBioPortal
patients <- read.delim(file.path(dir, "cbioportal", "data_clinical_patient.txt"), comment.char = "#",
                       stringsAsFactors = FALSE, na.strings = c("NA", "[Not Available]"))
status <- function(x) as.numeric(sub(":.*$", "", x))
cbio <- list(pfs = km(as.numeric(patients$PFS_MONTHS), status(patients$PFS_STATUS)),
             os = km(as.numeric(patients$OS_MONTHS), status(patients$OS_STATUS)),
             orr = orr(patients$BEST_RESPONSE, nrow(patients)))

# CDISC ADaM (all ADSL subjects: no population flag applied)
adsl <- read.xport(file.path(dir, "adam", "adsl.xpt"))
adtte <- read.xport(file.path(dir, "adam", "adtte.xpt"))
adrs <- read.xport(file.path(dir, "adam", "adrs.xpt"))
months <- ifelse(trimws(adtte$AVALU) == "MONTHS", adtte$AVAL, adtte$AVAL / 30.4375)
endpoint <- function(code) {
  rows <- trimws(adtte$PARAMCD) == code
  km(months[rows], as.numeric(adtte$CNSR[rows] == 0))
}
bor <- adrs[trimws(adrs$PARAMCD) == "BOR", ]
adam <- list(pfs = endpoint("PFS"), os = endpoint("OS"), orr = orr(trimws(bor$AVALC), nrow(adsl)))

# REDCap (raw export: outcome fields on the follow-up event)
export <- read.csv(file.path(dir, "redcap", "export_raw.csv"), stringsAsFactors = FALSE)
follow <- export[export$redcap_event_name == "follow_up_arm_1", ]
codes <- c("1" = "CR", "2" = "PR", "3" = "SD", "4" = "PD", "5" = "NE")
redcap <- list(pfs = km(follow$pfs_days / 30.4375, follow$pfs_event),
               os = km(follow$os_days / 30.4375, follow$os_event),
               orr = orr(codes[as.character(follow$best_response)], length(unique(export$record_id))))

writeLines(to_json(list(cbioportal = cbio, adam = adam, redcap = redcap,
                        r_version = R.version.string, survival_version = as.character(packageVersion("survival")))),
           file.path("tests", "reference", "formats_reference.json"))
