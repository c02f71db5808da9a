"""The R, Stata and SPSS scripts of a release: each loads every table with its labels.

The tables' ``.dta`` and ``.sav`` files carry the variable labels and the value labels of the
categorical variables, so the scripts read those files: R with ``haven`` (labelled vectors,
``haven::as_factor`` turns them into factors), Stata into one frame per table (Stata 16 and
later), SPSS into one named dataset per table. Each script finds the bundle's folder from its
own place (``scripts/``), and the R script prints each table's row count as ``table<TAB>rows``.
"""

from aggregation.release.files import table_path


def r_script(tables: list[str]) -> str:
    names = ",\n  ".join(f'"{table}"' for table in tables)
    return f"""# Load every table of this release into R, with its variable and value labels.
# Needs the haven package (install.packages("haven")). Run from anywhere:
#   Rscript scripts/load_release.R      or, in R: source("scripts/load_release.R")
# Afterwards `release` is a list of data frames, one per table; categorical columns are
# haven_labelled (integer codes with labels): haven::as_factor(release$ratings) gives factors.

library(haven)

script_path <- function() {{
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) > 0) return(normalizePath(sub("^--file=", "", file_arg[1])))
  frame_file <- sys.frames()[[1]]$ofile
  if (!is.null(frame_file)) return(normalizePath(frame_file))
  file.path(getwd(), "scripts", "load_release.R")
}}
release_root <- dirname(dirname(script_path()))

tables <- c(
  {names}
)
release <- list()
for (table in tables) {{
  release[[table]] <- read_dta(file.path(release_root, "data", "stata", paste0(table, ".dta")))
}}
for (table in tables) {{
  cat(sprintf("%s\\t%d\\n", table, nrow(release[[table]])))
}}
"""


def stata_script(tables: list[str]) -> str:
    lines = "\n".join(
        f'frame create {table}\nframe {table}: use "`root\'/{table_path(table, "dta")}", clear'
        for table in tables
    )
    return f"""* Load every table of this release into Stata (16 or later), one frame per table,
* with its variable and value labels. Run from the release's folder:
*     do scripts/load_release.do
* then e.g. `frame change ratings` or `frames dir`.

local root "`c(pwd)'"
capture confirm file "`root'/datapackage.json"
if _rc {{
    display as error "Run this script from the release's folder (the one with datapackage.json)."
    exit 601
}}
{lines}
frames dir
"""


def spss_script(tables: list[str]) -> str:
    blocks = "\n".join(
        f"GET FILE='{table_path(table, 'sav')}'.\nDATASET NAME {table} WINDOW=FRONT."
        for table in tables
    )
    return f"""* Load every table of this release into SPSS, one named dataset per table,
* with its variable and value labels.
* Set the working folder to the release's folder first (the one with datapackage.json):
*     CD '/path/to/the/release'.
{blocks}
DATASET ACTIVATE ratings.
"""
