"""Unbound extensions; create_app() binds them. Nothing here touches an app at import."""
from flask_appbuilder import AppBuilder
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

db = get_sqla_class()()
appbuilder = AppBuilder()
csrf = CSRFProtect()
migrate = Migrate()
