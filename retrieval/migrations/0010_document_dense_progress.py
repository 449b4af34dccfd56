# A lost embedding task is found by the sweep (retrieval.embedding_jobs.sweep_embeddings):
# the embedding's last sign of life, and how often it was queued again.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('retrieval', '0009_document_dense_status'),
    ]

    operations = [
        migrations.AddField(
            model_name='document',
            name='dense_progress_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='document',
            name='dense_requeues',
            field=models.PositiveSmallIntegerField(default=0),
        ),
    ]
