# The JSON writer shared by the reference scripts (sourced from the repository root): full precision
# (%.17g), NA/NaN -> null, Inf -> "Inf"; a vector marked with as_array() is always written as an array.

as_array <- function(x) {
  attr(x, "json_array") <- TRUE
  x
}

json_scalar <- function(v) {
  if (is.character(v)) {
    if (is.na(v)) return("null")
    v <- gsub("\\\\", "\\\\\\\\", v)
    v <- gsub("\"", "\\\\\"", v)
    return(paste0("\"", v, "\""))
  }
  if (is.logical(v)) return(if (is.na(v)) "null" else if (v) "true" else "false")
  if (is.na(v)) return("null")
  if (is.infinite(v)) return(if (v > 0) "\"Inf\"" else "\"-Inf\"")
  if (is.integer(v)) return(as.character(v))
  sprintf("%.17g", v)
}

to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.factor(x)) x <- structure(as.character(x), json_array = attr(x, "json_array"))
  if (is.matrix(x)) {
    rows <- lapply(seq_len(nrow(x)), function(i) to_json(as_array(unname(x[i, ]))))
    return(paste0("[", paste(rows, collapse = ", "), "]"))
  }
  if (is.list(x)) {
    items <- vapply(x, to_json, character(1))
    if (is.null(names(x))) return(paste0("[", paste(items, collapse = ", "), "]"))
    keys <- vapply(names(x), json_scalar, character(1))
    return(paste0("{", paste(paste0(keys, ": ", items), collapse = ", "), "}"))
  }
  x <- unname(x)
  if (length(x) == 1 && is.null(attr(x, "json_array"))) return(json_scalar(x))
  paste0("[", paste(vapply(seq_along(x), function(i) json_scalar(x[i]), character(1)),
                    collapse = ", "), "]")
}

# ---------------------------------------------------------------- extraction
num <- function(x) as_array(as.numeric(x))
