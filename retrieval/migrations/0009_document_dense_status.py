# Dense vectors are computed after a document is ready (retrieval.embedding_jobs): how far.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('retrieval', '0008_openai_files_vector_stores'),
    ]

    operations = [
        migrations.AddField(
            model_name='document',
            name='dense_status',
            field=models.CharField(blank=True, max_length=12),
        ),
        migrations.AddField(
            model_name='document',
            name='dense_error',
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name='document',
            name='embedded_passages',
            field=models.PositiveIntegerField(default=0),
        ),
    ]
