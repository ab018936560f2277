"""Catalog: categories and products (prices edited in minor units, shown formatted)."""
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from marshmallow.validate import Range
from wtforms.validators import NumberRange

from app.models import Category, Product
from app.security.permissions import RESOURCE_CATEGORIES, RESOURCE_PRODUCTS
from app.services import bulk
from app.views.base import TenantModelApi, TenantModelView

PRODUCT_COLUMNS = [
    "sku", "name", "category", "description", "features", "price_minor", "currency",
    "stock", "reserved", "active", "image_url",
]


class CategoryView(TenantModelView):
    datamodel = SQLAInterface(Category)
    class_permission_name = RESOURCE_CATEGORIES
    list_columns = ["name", "description"]
    show_columns = add_columns = edit_columns = ["name", "description"]
    search_columns = ["name"]
    base_order = ("name", "asc")


class ProductView(TenantModelView):
    datamodel = SQLAInterface(Product)
    class_permission_name = RESOURCE_PRODUCTS
    list_columns = ["sku", "name", "category", "price", "stock", "reserved", "active"]
    show_columns = PRODUCT_COLUMNS + ["created_at", "updated_at"]
    add_columns = edit_columns = [c for c in PRODUCT_COLUMNS if c != "reserved"]
    search_columns = ["sku", "name", "category", "active", "price_minor", "stock"]
    label_columns = {"price_minor": "Price (paise)", "image_url": "Image URL", "sku": "SKU"}
    validators_columns = {"price_minor": [NumberRange(min=0)], "stock": [NumberRange(min=0)]}
    description_columns = {"price_minor": "Integer minor units: ₹799.00 is 79900"}
    base_order = ("name", "asc")


    @action("activate", "Put on sale", "Put the selected products on sale?", "fa-check",
            single=False)
    def activate(self, items):
        return self.bulk_update(items, bulk.set_attribute, "active", True)

    @action("deactivate", "Take off sale", "Take the selected products off sale?", "fa-ban",
            single=False)
    def deactivate(self, items):
        return self.bulk_update(items, bulk.set_attribute, "active", False)


class CategoryApi(TenantModelApi):
    resource_name = "categories"
    datamodel = SQLAInterface(Category)
    class_permission_name = RESOURCE_CATEGORIES
    list_columns = show_columns = ["id", "name", "description"]
    add_columns = edit_columns = ["name", "description"]
    search_columns = ["name"]


class ProductApi(TenantModelApi):
    resource_name = "products"
    datamodel = SQLAInterface(Product)
    class_permission_name = RESOURCE_PRODUCTS
    list_columns = show_columns = ["id"] + PRODUCT_COLUMNS
    add_columns = edit_columns = [c for c in PRODUCT_COLUMNS if c != "reserved"]
    search_columns = ["sku", "name", "category", "active"]
    validators_columns = {"price_minor": Range(min=0), "stock": Range(min=0)}
