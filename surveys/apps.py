from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "TrustPoll"

    def ready(self) -> None:
        from surveys import caching

        caching.connect_signals()
