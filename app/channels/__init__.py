"""The one registry from platform to adapter (Chatwoot's CHANNEL_SERVICES, without the if/elif)."""
from app.channels.base import ChannelAdapter
from app.channels.messenger import InstagramAdapter, MessengerAdapter
from app.channels.playground import PlaygroundAdapter
from app.channels.whatsapp import WhatsAppAdapter

ADAPTERS: dict[str, ChannelAdapter] = {
    "messenger": MessengerAdapter(),
    "instagram": InstagramAdapter(),
    "whatsapp": WhatsAppAdapter(),
    "playground": PlaygroundAdapter(),
}
# Meta's webhook `object` -> adapter
WEBHOOK_OBJECTS: dict[str, ChannelAdapter] = {
    "page": ADAPTERS["messenger"],
    "instagram": ADAPTERS["instagram"],
    "whatsapp_business_account": ADAPTERS["whatsapp"],
}


def adapter_for(platform: str) -> ChannelAdapter:
    return ADAPTERS[str(platform)]
