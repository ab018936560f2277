"""JSON-Schema descriptions of the salesperson's tools, as Groq's tool calling expects."""


def _fn(name: str, description: str, properties: dict | None = None, required: list | None = None) -> dict:
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": properties or {}, "required": required or []}}}


TOOL_SCHEMAS = [
    _fn("search_products", "Find products in this store's catalog by words the customer used.",
        {"query": {"type": "string"}, "max_price_minor": {"type": "integer", "description": "paise"}}),
    _fn("product_details", "Price, stock, description and features of one product.",
        {"product_id": {"type": "integer"}, "name": {"type": "string"}}),
    _fn("list_categories", "The store's product categories."),
    _fn("recommend", "Up to three in-stock products for the customer's needs and budget.",
        {"needs": {"type": "string"}, "budget_minor": {"type": "integer", "description": "paise"}}),
    _fn("compare_products", "Compare products the customer named (\"which is cheaper, X or Y?\", \"X vs Y\"): "
        "price, stock, description and features of each, which is cheapest and by how much.",
        {"names": {"type": "array", "items": {"type": "string"}, "description": "the products as the customer named them"},
         "product_ids": {"type": "array", "items": {"type": "integer"}}}),
    _fn("create_order", "Place the order once the customer confirmed what to buy: stock is reserved, prices come "
        "from the catalog, and a payment link is sent in the chat after your reply.",
        {"items": {"type": "array", "items": {"type": "object", "properties": {
            "product_id": {"type": "integer"}, "quantity": {"type": "integer", "minimum": 1}},
            "required": ["product_id", "quantity"]}}}, ["items"]),
    _fn("change_order", "The customer changes the quantity of their order awaiting payment (\"make that 3\"): "
        "the order is replaced with the new quantity and a new payment link is sent after your reply.",
        {"quantity": {"type": "integer", "minimum": 1},
         "product_id": {"type": "integer", "description": "needed only if the order has several products"},
         "number": {"type": "string", "description": "the order number, if not this chat's latest order"}},
        ["quantity"]),
    _fn("order_status", "Status of one of this customer's orders by its number (e.g. ORD-1001).",
        {"number": {"type": "string"}}, ["number"]),
    _fn("handoff", "Hand the chat to a person when you can't help or the customer asks for one.",
        {"reason": {"type": "string"}}),
    _fn("opt_out", "The customer asked to stop receiving messages."),
]
