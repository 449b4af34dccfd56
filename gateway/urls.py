from __future__ import annotations

from gateway.keys_views import urlpatterns as keys_urlpatterns
from gateway.usage_views import urlpatterns as usage_urlpatterns

urlpatterns = [*keys_urlpatterns, *usage_urlpatterns]
