"""The variable registry: every entry complete, every use backed, the schema and dictionary generated from it."""
from __future__ import annotations

import dataclasses

import duckdb
import pandas as pd
import pytest

from data import build, registry


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = build.build(tmp_path_factory.mktemp("db") / "registry.duckdb")
    with duckdb.connect(str(path), read_only=True) as connection:
        yield connection


@pytest.mark.parametrize("variable", registry.VARIABLE_LIST, ids=lambda v: v.name)
def test_every_variable_is_complete(variable):
    assert variable.label.strip() and variable.description.strip(), variable.name
    assert variable.type in registry.SQL_TYPES
    assert variable.roles and set(variable.roles) <= set(registry.ROLES), variable.roles
    assert variable.upload_kind in registry.UPLOAD_KINDS
    assert all(s == " ".join(s.lower().split()) for s in variable.synonyms), "synonyms are normalised"


def _uses() -> dict[str, set[str]]:
    uses: dict[str, set[str]] = {role: set() for role in ("filter", "grouping", "covariate", "endpoint")}
    uses["filter"] = {f.variable for f in registry.FILTER_LIST}
    uses["grouping"] = {g.variable for g in registry.GROUPING_LIST}
    uses["covariate"] = {c.variable for c in registry.COVARIATE_LIST}
    uses["endpoint"] = {e.time for e in registry.ENDPOINT_LIST} | {e.event for e in registry.ENDPOINT_LIST}
    return uses


@pytest.mark.parametrize("role", ["filter", "grouping", "covariate", "endpoint"])
def test_a_role_is_claimed_exactly_where_an_entry_uses_the_variable(role):
    claimed = {v.name for v in registry.VARIABLE_LIST if role in v.roles}
    assert claimed == _uses()[role]


@pytest.mark.parametrize("entry", [*registry.FILTER_LIST, *registry.GROUPING_LIST, *registry.COVARIATE_LIST,
                                   *registry.ENDPOINT_LIST], ids=lambda e: f"{type(e).__name__}:{e.key}")
def test_every_entry_names_a_known_variable_and_has_a_label(entry):
    names = [entry.time, entry.event] if isinstance(entry, registry.Endpoint) else [entry.variable]
    assert all(name in registry.VARIABLES for name in names)
    assert entry.label.strip()
    if isinstance(entry, registry.Filter):
        assert entry.help.strip() and entry.section in registry.FILTER_SECTIONS
    if isinstance(entry, registry.Covariate):
        assert entry.kind in {"flag", "at_least", "factor", "numeric"} and entry.meaning.strip()
        assert entry.term_label.strip() if entry.kind == "factor" else entry.reference.strip()


def test_keys_are_unique_url_words():
    for entries in (registry.FILTER_LIST, registry.GROUPING_LIST, registry.COVARIATE_LIST, registry.ENDPOINT_LIST):
        keys = [e.key for e in entries]
        assert len(keys) == len(set(keys))
        assert all(k.replace("_", "").isalnum() and k == k.lower() for k in keys)
    assert registry.NO_GROUPING not in registry.GROUPINGS


def test_a_missing_label_is_caught():
    """The completeness check fails on an entry without a label (it can fail)."""
    broken = dataclasses.replace(registry.VARIABLES["sex"], label=" ")
    with pytest.raises(AssertionError):
        test_every_variable_is_complete(broken)


def test_database_columns_and_constraints_come_from_the_registry(con):
    columns = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_name = 'patients' ORDER BY ordinal_position").fetchall()
    assert [c for c, _ in columns] == list(registry.PATIENT_COLUMNS)
    assert [t for _, t in columns] == [registry.SQL_TYPES[v.type] for v in registry.VARIABLE_LIST]
    with pytest.raises(duckdb.ConstraintException):
        probe = duckdb.connect()
        probe.execute(f"CREATE TABLE patients ({registry.patients_ddl()})")
        probe.execute("INSERT INTO patients (study_id, patient_id, evaluable, source, sex) "
                      "VALUES ('s', 'p', true, 'x', 'female')")  # not one of the allowed values


def test_the_dictionary_of_patients_is_the_registry(con):
    documented = con.execute("SELECT \"column\", type, description FROM data_dictionary WHERE \"table\" = 'patients'"
                             ).df()
    assert documented["column"].tolist() == list(registry.PATIENT_COLUMNS)
    assert documented["description"].tolist() == [v.description for v in registry.VARIABLE_LIST]
    source_rows = build.read_source("data_dictionary")
    assert not (source_rows["table"] == "patients").any(), "patients rows are generated, not written twice"


def test_available_controls_follow_the_bundled_data(con):
    patients = con.execute("SELECT * FROM patients").df()
    recorded = registry.recorded_counts(patients)
    filters = registry.available_filters(recorded)
    assert "sex" in filters and recorded["sex"] == (9, 2)  # seed 000's text gives sex for 9 patients
    assert "ae_count" not in filters  # no AE count per patient in either paper
    assert "pfs" in registry.available_endpoints(recorded) and "os" not in registry.available_endpoints(recorded)
    assert "sex" in registry.available_groupings(recorded)


def test_available_controls_of_a_five_column_upload():
    patients = pd.DataFrame({"study_id": ["u"] * 4, "patient_id": list("abcd"), "histology": ["LMS", "UPS"] * 2,
                             "best_response": ["PR", "PD", "SD", None], "pfs_months": [1.0, 2, 3, 4],
                             "pfs_event": [1, 0, 1, 1]})
    recorded = registry.recorded_counts(patients)
    assert registry.available_filters(recorded) == ("study", "histology", "response")
    assert registry.available_groupings(recorded) == ("none", "histology", "best_response")
    assert registry.available_covariates(recorded) == ()
    assert registry.available_endpoints(recorded) == ("pfs",)


def test_counting_only_the_columns_read_gives_the_same_endpoints_and_groupings(con):
    """ENDPOINT_VARIABLES and GROUPING_VARIABLES hold every column the availability checks read."""
    patients = con.execute("SELECT * FROM patients").df()
    for frame in (patients, patients.assign(os_months=1.0, os_event=0, sex=None), patients.iloc[:0]):
        everything = registry.recorded_counts(frame)
        assert (registry.available_endpoints(registry.recorded_counts(frame, registry.ENDPOINT_VARIABLES))
                == registry.available_endpoints(everything))
        assert (registry.available_groupings(registry.recorded_counts(frame, registry.GROUPING_VARIABLES))
                == registry.available_groupings(everything))
    for endpoint in registry.ENDPOINT_LIST:
        assert {endpoint.time, endpoint.event} <= set(registry.ENDPOINT_VARIABLES)
    assert {g.variable for g in registry.GROUPING_LIST} == set(registry.GROUPING_VARIABLES)


def test_recorded_counts_of_a_frame_equal_the_databases_count_and_count_distinct(con):
    """The patient path (pandas) and the counted path (SQL ``count``, ``count(DISTINCT)``) agree on what is
    recorded, with every kind of missing value: None, NaN, pd.NA."""
    from sarcoma_app.sources import filter_sql

    patients = con.execute("SELECT * FROM patients").df()
    holes = patients.copy()
    holes.loc[holes.index[:5], "histology"] = None
    holes.loc[holes.index[3:9], "pfs_months"] = float("nan")
    holes["age"] = holes["age"].astype("Int32")
    holes.loc[holes.index[::3], "age"] = pd.NA
    holes["pazopanib"] = holes["pazopanib"].astype(object)
    holes.loc[holes.index[1::4], "pazopanib"] = None
    for frame in (patients, holes):
        row = duckdb.sql(filter_sql.recorded_counts_sql().replace("FROM patients", "FROM frame")).df().iloc[0]
        assert registry.recorded_counts(frame) == {
            c: (int(row[f"{c}__n"]), int(row[f"{c}__d"])) for c in registry.PATIENT_COLUMNS}


@pytest.mark.parametrize("key, value, label", [
    ("pazopanib", True, "on pazopanib"), ("pazopanib", None, "not reported"), ("ecog", 1, "ECOG 1"),
    ("prior_lines", 1, "1 prior line"), ("prior_lines", 2, "2 prior lines"), ("best_response", None, "NE"),
    ("sex", "Female", "Female"), ("histology", float("nan"), "not reported"),
])
def test_grouping_value_labels(key, value, label):
    assert registry.GROUPINGS[key].value_label(value) == label


def test_the_patient_table_order_lists_every_column_once():
    assert sorted(registry.PATIENT_TABLE_ORDER) == sorted(set(registry.PATIENT_COLUMNS) - {"patient_label", "source"})
