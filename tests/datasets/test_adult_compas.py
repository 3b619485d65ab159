import pytest

from skfair.datasets import dataset_summary, load_adult, load_compas

ROW = ("39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, "
       "White, Male, 2174, 0, 40, United-States, {label}\n")
ROW_MISSING = ("62, ?, 83311, HS-grad, 9, Widowed, ?, Unmarried, Black, Female, 0, 0, 13, "
               "?, {label}\n")


def _adult(root):
    (root / "adult.data").write_text(
        ROW.format(label="<=50K") + ROW_MISSING.format(label=">50K") + "\n"
    )
    (root / "adult.test").write_text(
        "|1x3 Cross validator\n" + ROW.format(label=">50K.") + ROW.format(label="<=50K.")
    )
    return root


def test_adult_uci_format(tmp_path):
    ds = load_adult(_adult(tmp_path))
    assert ds.data.shape == (2, 14) and ds.split == "train"
    assert ds.target.tolist() == [0, 1]
    # missing values are kept as NaN, counted, never silently dropped
    assert ds.n_missing == {"workclass": 1, "occupation": 1, "native-country": 1}
    assert ds.data["workclass"].isna().tolist() == [False, True]
    assert ds.data["age"].tolist() == [39, 62]
    assert ds.sensitive.astype(str).values.tolist() == [
        ["Male", "White", "25-45"], ["Female", "Black", ">45"]
    ]
    test = load_adult(tmp_path, split="test")
    assert test.target.tolist() == [1, 0]  # trailing '.' removed


def test_adult_both_shares_categories(tmp_path):
    both = load_adult(_adult(tmp_path), split="both")
    tr, te = both.train, both.test
    for col in ["workclass", "race", "sex"]:
        assert list(tr.data[col].cat.categories) == list(te.data[col].cat.categories)
    assert len(tr.target) == 2 and len(te.target) == 2


def test_adult_age_groups_at_the_edges(tmp_path):
    rows = "".join(
        ROW.replace("39,", f"{age},", 1).format(label="<=50K") for age in (24, 25, 45, 46)
    )
    (tmp_path / "adult.data").write_text(rows)
    got = load_adult(tmp_path, sensitive="age_group").sensitive["age_group"].astype(str)
    assert got.tolist() == ["<25", "25-45", "25-45", ">45"]


@pytest.mark.parametrize(
    "content, match",
    [
        (ROW.format(label="rich"), "unknown income"),
        (ROW.format(label="<=50K").replace("77516", "lots"), "non-numeric"),
        ("39, State-gov, 77516\n", "fields"),
    ],
)
def test_adult_malformed(tmp_path, content, match):
    (tmp_path / "adult.data").write_text(content)
    with pytest.raises(ValueError, match=match) as info:
        load_adult(tmp_path)
    assert "adult.data" in str(info.value)


def test_adult_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="archive.ics.uci.edu"):
        load_adult(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="adult.data"):
        load_adult(tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_adult(_adult(tmp_path), split="valid")


COMPAS_HEADER = ("id,sex,age,age_cat,race,juv_fel_count,decile_score,juv_misd_count,"
                 "juv_other_count,priors_count,days_b_screening_arrest,c_charge_degree,"
                 "is_recid,decile_score,score_text,priors_count,two_year_recid\n")


def _compas(root):
    (root / "compas-scores-two-years.csv").write_text(
        COMPAS_HEADER
        + "1,Male,69,Greater than 45,Other,0,1,0,0,0,-1,F,0,1,Low,0,0\n"
        + "2,Female,24,Less than 25,African-American,0,8,0,1,4,45,M,1,8,High,4,1\n"
        + "3,Male,30,25 - 45,Caucasian,0,3,0,0,1,0,O,1,3,Low,1,1\n"
    )
    return root


def test_compas(tmp_path):
    ds = load_compas(_compas(tmp_path))
    assert ds.target.tolist() == [0, 1, 1]
    assert list(ds.sensitive.columns) == ["race", "sex", "age_cat"]
    assert list(ds.frame["age_cat"].cat.categories) == [
        "Less than 25", "25 - 45", "Greater than 45"
    ]
    assert "decile_score" not in ds.data and "decile_score.1" in ds.frame
    assert "two_year_recid" not in ds.data
    with pytest.warns(UserWarning, match="dropped 2 of 3"):
        kept = load_compas(tmp_path, propublica_filter=True)
    assert kept.frame["id"].tolist() == [1]


def test_compas_malformed_and_missing(tmp_path):
    (tmp_path / "compas-scores-two-years.csv").write_text("id,sex\n1,Male\n")
    with pytest.raises(ValueError, match="compas-scores-two-years.csv' lacks"):
        load_compas(tmp_path)
    (tmp_path / "compas-scores-two-years.csv").write_text(
        COMPAS_HEADER + "1,Male,69,Greater than 45,Other,0,1,0,0,0,-1,F,0,1,Low,0,2\n"
    )
    with pytest.raises(ValueError, match="two_year_recid"):
        load_compas(tmp_path)
    with pytest.raises(FileNotFoundError, match="propublica"):
        load_compas(tmp_path / "absent")


@pytest.mark.realdata
def test_real_adult(tabular_dir):
    ds = load_adult(tabular_dir)
    assert len(ds.target) == 32561 and ds.data.shape == (32561, 14)
    assert set(ds.n_missing) == {"workclass", "occupation", "native-country"}
    test = load_adult(tabular_dir, split="test")
    assert len(test.target) == 16281
    assert 0.2 < ds.target.mean() < 0.3 and 0.2 < test.target.mean() < 0.3
    summary = dataset_summary(ds)
    assert summary.group_sizes["train"].sum() == 32561


@pytest.mark.realdata
def test_real_compas(tabular_dir):
    ds = load_compas(tabular_dir)
    assert len(ds.target) == 7214 and ds.frame.shape == (7214, 53)
    assert set(ds.frame["race"].cat.categories) >= {"African-American", "Caucasian"}
    with pytest.warns(UserWarning, match="dropped 1042 of 7214"):
        assert len(load_compas(tabular_dir, propublica_filter=True).target) == 6172
