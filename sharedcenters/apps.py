from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharedCentersConfig(AppConfig):
    name = "sharedcenters"
    verbose_name = _("Shared centers")
