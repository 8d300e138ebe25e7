from xmetrics_core.catalogue import (
    METRICS,
    Context,
    Group,
    Level,
    fields_of,
    metric,
    split_fields,
    total_metric,
)


def test_every_path_is_unique_per_level():
    keys = [(m.level, m.path) for m in METRICS]
    assert len(keys) == len(set(keys))


def test_field_authorization_error_counts_match_x():
    # X sends one Field Authorization Error per sub-field: 6 organic, 6 promoted.
    assert len(fields_of(Level.POST, Group.ORGANIC)) == 6
    assert len(fields_of(Level.POST, Group.PROMOTED)) == 6
    assert "quote_count" not in fields_of(Level.POST, Group.PROMOTED)


def test_media_quartiles_are_ordered_and_parsed():
    quartiles = [
        m.quartile for m in METRICS if m.level is Level.MEDIA and m.group is Group.NON_PUBLIC
    ]
    assert quartiles == [0, 25, 50, 75, 100]


def test_totals_come_from_the_group_that_carries_them():
    assert total_metric(Level.POST, "impression_count").group is Group.NON_PUBLIC
    assert total_metric(Level.POST, "like_count").group is Group.PUBLIC
    assert total_metric(Level.MEDIA, "view_count").group is Group.PUBLIC
    assert total_metric(Level.MEDIA, "playback_50_count").group is Group.NON_PUBLIC


def test_split_fields_exist_in_both_contexts():
    for level in Level:
        for field in split_fields(level):
            assert metric(level, f"organic_metrics.{field}").context is Context.ORGANIC
            assert metric(level, f"promoted_metrics.{field}").context is Context.PROMOTED


def test_group_keys_round_trip():
    for group in Group:
        assert Group.from_key(group.key) is group
        assert Group.from_key(group.value) is group


def test_column_labels_name_the_metric_and_its_group() -> None:
    from xmetrics_core.catalogue import column_label

    assert column_label("public_metrics.like_count") == "Likes (public)"
    assert column_label("non_public_metrics.playback_25_count") == "Played to 25% (non-public)"
    assert column_label("engagement_rate") == "Engagement rate"
