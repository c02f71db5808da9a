"""Drop the table of the former API tokens, which held tokens in clear.

API tokens are now issued by the knox app and stored as digests; the old ``authtoken_token``
table was left behind when its app was removed. Its tokens are not carried over (they must
be re-issued), so the table is dropped, wherever it exists.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0009_wave_dates_message"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
    ]
