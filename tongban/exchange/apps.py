from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "tongban.exchange"
    verbose_name = "数据共享交换"
