"""Latency histograms move from 80 log buckets 20 % wide to log-linear buckets (≤ 1.6 %).

Old rows are converted, not dropped: each old bucket's count moves to the new bucket of
the old bucket's representative value, so request counts and sample sizes stay whole.
Their quantiles stay as coarse as they were (up to ~10 % off); hours recorded after the
upgrade are exact to 1.6 %, and the old hours leave the 24 h window within a day.
"""

from django.db import migrations, models

OLD_BASE = 1.2

# A frozen copy of catalog.latency.bucket_of as it stands in this migration.
SUB_BITS = 5
EXACT = 64
MAX_MS = 2**23 - 1


def new_bucket_of(ms):
    ms = min(max(int(ms), 0), MAX_MS)
    if ms < EXACT:
        return ms
    shift = ms.bit_length() - 1 - SUB_BITS
    return EXACT + (shift - 1) * 32 + (ms >> shift) - 32


def convert(old):
    if isinstance(old, dict):
        return old
    new = {}
    for index, count in enumerate(old or []):
        if count:
            value = 1.0 if index == 0 else OLD_BASE ** (index + 0.5)
            key = str(new_bucket_of(round(value)))
            new[key] = new.get(key, 0) + count
    return new


def forwards(apps, schema_editor):
    LatencyRollup = apps.get_model("catalog", "LatencyRollup")
    for row in LatencyRollup.objects.all().iterator(chunk_size=500):
        row.latency_hist = convert(row.latency_hist)
        row.ttft_hist = convert(row.ttft_hist)
        row.save(update_fields=("latency_hist", "ttft_hist"))


def backwards(apps, schema_editor):
    # The coarse layout cannot be rebuilt faithfully: empty histograms (counts and sums
    # stay) are what the old code read as "no quantiles yet".
    LatencyRollup = apps.get_model("catalog", "LatencyRollup")
    LatencyRollup.objects.update(latency_hist=[], ttft_hist=[])


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0004_latency_overhead"),
    ]

    operations = [
        migrations.AlterField(
            model_name="latencyrollup",
            name="latency_hist",
            field=models.JSONField(
                default=dict, help_text="catalog.latency buckets: {index: count}"
            ),
        ),
        migrations.AlterField(
            model_name="latencyrollup",
            name="ttft_hist",
            field=models.JSONField(default=dict, help_text="catalog.latency buckets: {index: count}"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
