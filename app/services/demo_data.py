"""The demo's data: two stores, their catalog, campaigns, customers, chats and orders.

Tables only; app.services.demo walks them. Prices in chat scripts are `{p[SKU]}`
placeholders filled from the catalog so the text can't drift from the prices.
"""
from app.models import (
    Direction,
    Platform,
    Role,
    RuleAction,
    Sender,
    TargetPlatform,
    TemplateStatus,
)
from app.security.permissions import ROLE_ADMIN, ROLE_AGENCY_ADMIN

AGENCY = "Demo Agency"
DEMO_SLUG = "demo-store"
EMAIL_DOMAIN = "demo.closer.test"

# username -> (first, last, FAB role, store name or None, seat role or None)
LOGINS = {
    "admin": ("Demo", "Admin", ROLE_ADMIN, None, None),
    "agency": ("Kabir", "Malhotra", ROLE_AGENCY_ADMIN, None, None),
    "owner": ("Ishita", "Bansal", "Owner", "Demo Store", Role.OWNER),
    "staff": ("Rohit", "Das", "Staff", "Demo Store", Role.STAFF),
    "owner2": ("Tara", "Menon", "Owner", "Second Store", Role.OWNER),
}
WHERE = {"admin": "all tenants", "agency": f"{AGENCY}: Demo Store, Second Store"}

SHIPPING_DOC = """Shipping: we ship across India with Delhivery and Blue Dart. Orders are packed within 24 hours of payment and usually arrive in 4-6 working days (2-3 days in metro cities). Shipping is free on orders above ₹999; below that a flat ₹79 applies. You get a tracking number on WhatsApp or Messenger as soon as the parcel leaves our Jaipur studio.

Payment: we accept prepaid orders only, through a secure Razorpay link (UPI, cards, netbanking, wallets). Payment links stay valid for 24 hours and the pieces are held for you until then. We do not offer cash on delivery at the moment.

Returns and exchanges: unworn pieces with tags can be exchanged for another size or returned within 7 days of delivery. Start a return by messaging us your order number; we arrange the pickup. Refunds reach the original payment method within 5-7 working days of the pickup. Sale items and dupattas bought as gifts can be exchanged but not refunded.

Damaged or wrong item: send us a photo within 48 hours of delivery and we replace it at no cost."""

SIZE_DOC = """How to measure: measure your bust at the fullest point and your waist at the narrowest, keeping the tape snug but not tight. Our kurtas follow garment measurements, which already include about 2 inches of ease.

Kurtas and kurta sets (bust / waist in inches): XS 34/28, S 36/30, M 38/32, L 40/34, XL 42/36, XXL 44/38. Kurta length is 44-46 inches for long kurtas and 32 inches for short kurtis. Palazzos have an elasticated waist and fit up to 4 inches above the listed waist.

Between two sizes? Pick the larger one for straight kurtas and your usual size for Anarkalis, which are flared. Chikankari pieces are hand-embroidered cotton and may shrink up to 2% if machine-washed hot; we recommend a gentle cold wash.

Sarees are 5.5 metres with a 0.8 metre unstitched blouse piece, so they suit every size. Our tailoring partner can stitch the blouse for ₹650 extra; just ask in chat."""

CANDLE_DOC = """Candle care: trim the wick to 5 mm before every burn and let the first burn last 2-3 hours, until the wax pool reaches the edge, so the candle doesn't tunnel. Never leave a burning candle unattended or within reach of children and pets.

Our candles are hand-poured soy wax with cotton wicks and phthalate-free fragrance oils. A 200 g jar burns for about 40 hours; each pillar in the Mogra set burns for about 30 hours.

Shipping: orders ship from Pune within 2 working days in recycled, candle-safe packaging and arrive in 3-7 days. Shipping is free above ₹1,499. Because wax can soften in transit, we replace any candle that arrives cracked or melted if you message us a photo within 48 hours. Unused items can be returned within 7 days."""

STORES = [
    {
        "name": "Demo Store",
        "profile": {
            "business_name": "Rangrez Ethnic Wear", "owner_name": "Ishita Bansal",
            "industry": "Ethnic apparel (D2C)",
            "description": "Jaipur-based label selling hand block-printed and chikankari kurtas, "
            "kurta sets, sarees and dupattas directly to customers across India, mostly "
            "through Instagram, Facebook and WhatsApp.",
            "website": "https://rangrez.example.in", "phone": "+91 98290 11223",
            "goals": "Turn ad and DM enquiries into paid orders within the same chat; recover "
            "unpaid payment links; build repeat buyers for the festive season.",
            "audience": "Women 22-45 in Indian metros and tier-2 cities who want handcrafted, "
            "breathable ethnic wear for work, festivals and gifting; gift-buyers shopping for "
            "mothers and sisters.",
            "tone": "Warm, helpful and brief; light Hinglish is fine; at most one emoji",
            "policies": "Prepaid only (Razorpay link). Free shipping above ₹999. 7-day "
            "exchange/return on unworn items with tags. Never promise delivery dates we can't "
            "guarantee; hand over to a human for complaints or custom tailoring.",
        },
        "categories": [
            ("Kurtas & Kurtis", "Everyday and office kurtas in breathable cotton."),
            ("Kurta Sets", "Coordinated kurta, bottom and dupatta sets."),
            ("Sarees", "Handloom and silk-blend sarees with blouse pieces."),
            ("Dupattas & Stoles", "Embroidered and printed dupattas and stoles."),
        ],
        # sku, name, category, price (paise), stock, active, description, features
        "products": [
            ("RZ-KUR-001", "Indigo Block-Print Cotton Kurta", "Kurtas & Kurtis", 79900, 22, True,
             "Straight-cut kurta hand block-printed in Bagru with natural indigo.",
             "100% cotton, pre-washed\nSizes XS-XXL\n44-inch length\nSide pockets"),
            ("RZ-KUR-002", "Mustard Chikankari Kurti", "Kurtas & Kurtis", 129900, 14, True,
             "Hand-embroidered Lucknowi chikankari on soft cotton.",
             "Hand embroidery\nSizes XS-XXL\nCold wash only"),
            ("RZ-KUR-003", "Ivory Mul Cotton Short Kurti", "Kurtas & Kurtis", 69900, 0, True,
             "Featherlight mul cotton short kurti with pintucks, for jeans or palazzos.",
             "Mul cotton\n32-inch length\nSizes XS-XL"),
            ("RZ-SET-001", "Rust Anarkali Kurta Set with Dupatta", "Kurta Sets", 249900, 8, True,
             "Flared Anarkali with gota detailing, straight pants and a chiffon dupatta.",
             "Rayon-cotton blend\nGota patti work\n3-piece set\nSizes XS-XXL"),
            ("RZ-SET-002", "Teal Straight Kurta & Palazzo Set", "Kurta Sets", 179900, 11, True,
             "Straight kurta with matching elasticated palazzos.",
             "Cotton\n2-piece set\nElasticated waist\nSizes S-XXL"),
            ("RZ-SAR-001", "Maroon Banarasi Silk-Blend Saree", "Sarees", 349900, 6, True,
             "Silk-blend saree with zari woven borders and pallu.",
             "5.5 m with blouse piece\nZari border\nDry clean only"),
            ("RZ-SAR-002", "Sage Mulmul Cotton Saree", "Sarees", 189900, 10, True,
             "Light mulmul cotton saree that drapes easily, made for long office days.",
             "5.5 m with blouse piece\nMulmul cotton\nHand wash"),
            ("RZ-DUP-001", "Phulkari Embroidered Dupatta", "Dupattas & Stoles", 99900, 19, True,
             "Punjab phulkari embroidery in bright threads on a cotton-chiffon base.",
             "2.25 m\nHand-finished tassels"),
            ("RZ-DUP-002", "Ajrakh Print Modal Stole", "Dupattas & Stoles", 59900, 3, False,
             "Discontinued Ajrakh stole; last pieces kept for exchanges.",
             "Modal\n2 m"),
        ],
        "campaigns": [
            {"name": "Diwali Festive Edit", "target": TargetPlatform.MESSENGER,
             "products": ["RZ-SET-001", "RZ-SAR-001", "RZ-DUP-001"], "ends_in_days": 20,
             "greeting": "Namaste! 🪔 Thanks for checking out our Diwali Festive Edit. Are you "
             "shopping for yourself or for a gift?",
             "questions": ["Who is it for?", "Which size do you usually wear?",
                           "Do you prefer sarees or suits?", "When do you need it by?"],
             "objections": "Price: point to handcrafting and free shipping above ₹999. "
             "Delivery: 4-6 working days, never promise a date. Fit: share the size guide and "
             "the 7-day exchange.",
             "closing": "Offer to create the order and send a Razorpay link valid for 24 hours; "
             "mention free gift wrapping for festive orders.",
             "audience": "Festive shoppers and gift-buyers from the Diwali Messenger ads.",
             "ad_ids": "120208845512340001"},
            {"name": "Everyday Cotton Kurtas", "target": TargetPlatform.ALL,
             "products": ["RZ-KUR-001", "RZ-KUR-002", "RZ-SET-002"], "ends_in_days": None,
             "greeting": "Hi! 👋 Looking for something comfortable for work or everyday wear?",
             "questions": ["Is it for office, college or casual wear?", "What's your size?",
                          "Any colour you love or avoid?"],
             "objections": "Shrinkage: all cotton is pre-washed. Prepaid only: it lets us ship "
             "within 24 hours. Between sizes: go one up for straight kurtas.",
             "closing": "Summarise the pieces and total, then send the payment link.",
             "audience": "Working women 22-40 who buy kurtas for office in cotton.",
             "ad_ids": "120208845512340002, 120208845512340003"},
        ],
        "channels": [
            (Platform.MESSENGER, "Rangrez Facebook Page", "104857392011234", "demo-page-token"),
            (Platform.INSTAGRAM, "@rangrez.ethnic", "17841456789012345", "demo-ig-token"),
            (Platform.WHATSAPP, "Rangrez WhatsApp", "109283746501928", "demo-whatsapp-token"),
        ],
        "documents": [("Shipping & returns", SHIPPING_DOC), ("Size guide", SIZE_DOC)],
        # key: platform, external id, name, phone, email, tags
        "customers": {
            "kavya": (Platform.INSTAGRAM, "6021938475610293", "Kavya Iyer", None,
                      "kavya.iyer@example.in", "repeat"),
            "neha": (Platform.WHATSAPP, "919876543210", "Neha Gupta", "+91 98765 43210", None, None),
            "ananya": (Platform.PLAYGROUND, "playground-ananya", "Ananya Rao", None, None, None),
            "rahul": (Platform.WHATSAPP, "919811122334", "Rahul Verma", "+91 98111 22334", None,
                      "needs-followup"),
            "vikram": (Platform.MESSENGER, "7301928374650011", "Vikram Singh", None, None, None),
            "priya": (Platform.MESSENGER, "7301928374650192", "Priya Sharma", "+91 99887 76655",
                      None, "festive"),
            "meera": (Platform.INSTAGRAM, "6021938475619876", "Meera Nair", None, None,
                      "restock-alert"),
            "arjun": (Platform.MESSENGER, "7301928374650533", "Arjun Mehta", None, None, "gift"),
        },
        # start = (days, hours) ago; messages = (minutes after start, who, text)
        "chats": [
            {"customer": "kavya", "campaign": "Everyday Cotton Kurtas", "status": "converted",
             "referral": {"source": "ADS", "type": "OPEN_THREAD", "ad_id": "120208845512340002",
                          "headline": "Office kurtas in pre-washed cotton"},
             "lead": 85, "sentiment": 0.8, "start": (9, 6),
             "order": {"status": "delivered", "items": [("RZ-KUR-002", 1), ("RZ-KUR-001", 1)],
                       "at": 11, "paid": 20, "tracking": "DLV1490112345678"},
             "messages": [
                 (0, "c", "hey do u have the mustard chikankari kurti in L?"),
                 (2, "ai", "Hi Kavya! Yes, the Mustard Chikankari Kurti is available in L at "
                  "{p[RZ-KUR-002]}. It's hand-embroidered on cotton, so it stays breathable."),
                 (6, "c", "ok and the indigo one?"),
                 (7, "ai", "The Indigo Block-Print Cotton Kurta is {p[RZ-KUR-001]}. Both "
                  "together come to {total}, with free shipping."),
                 (10, "c", "take both in L"),
                 (11, "ai", "Lovely choice! Here's the payment link for order {number} "
                  "({total}): {link}"),
                 (4 * 1440 + 120, "c", "Received both today, the chikankari is so pretty 😍"),
                 (4 * 1440 + 122, "ai", "So happy to hear that, Kavya! Tag us @rangrez.ethnic "
                  "when you wear it 💛"),
             ]},
            {"customer": "neha", "campaign": "Everyday Cotton Kurtas", "status": "converted",
             "referral": {"source": "ad", "type": "image", "ad_id": "120208845512340003",
                          "headline": "Kurta sets on WhatsApp: pre-washed cotton",
                          "source_url": "https://fb.me/rangrez-kurtas", "ctwa_clid": "ARAdemoCtwaClick0001"},
             "lead": 80, "sentiment": 0.5, "start": (6, 4),
             "order": {"status": "shipped", "items": [("RZ-SET-002", 1)], "at": 6, "paid": 20,
                       "tracking": "DLV1490112398765"},
             "messages": [
                 (0, "c", "Hello, I want the teal kurta palazzo set. Size XL. Price?"),
                 (1, "ai", "Namaste Neha! The Teal Straight Kurta & Palazzo Set is "
                  "{p[RZ-SET-002]} and XL is in stock. Shall I create the order?"),
                 (5, "c", "Yes please. Cash on delivery possible?"),
                 (6, "ai", "We're prepaid only for now (UPI, cards, netbanking), which lets us "
                  "ship within 24 hours. Here's your link for order {number} ({total}): {link}"),
                 (20, "c", "Done"),
                 (1440 + 180, "ai", "Your order {number} has shipped with Delhivery, tracking "
                  "number {tracking}. Expected in 3-4 days."),
                 (1440 + 200, "c", "Thank you!"),
             ]},
            {"customer": "ananya", "campaign": "Everyday Cotton Kurtas", "status": "closed",
             "lead": 35, "sentiment": 0.1, "start": (5, 9),
             "order": {"status": "expired", "items": [("RZ-KUR-001", 2)], "at": 4},
             "messages": [
                 (0, "c", "Hi! Does the indigo block-print kurta come in S?"),
                 (1, "ai", "Hi Ananya! Yes, the Indigo Block-Print Cotton Kurta is "
                  "{p[RZ-KUR-001]} and S is in stock. It's pre-washed, so it won't shrink."),
                 (3, "c", "I need 2, one for my sister. Send the link, I'll pay tonight"),
                 (4, "ai", "Sure! Order {number} for 2 kurtas comes to {total}. Pay here: "
                  "{link} (valid for 24 hours; both pieces are held for you)."),
                 (2 * 1440, "ai", "Hi Ananya, the payment link for order {number} expired, so "
                  "we released the hold. Say the word if you'd like a fresh one!"),
             ]},
            {"customer": "rahul", "campaign": "Everyday Cotton Kurtas", "status": "open",
             "mode": "human", "lead": 40, "sentiment": -0.4, "start": (4, 3),
             "order": {"status": "cancelled", "items": [("RZ-KUR-002", 1)], "at": 4},
             "messages": [
                 (0, "c", "Hi, I need the mustard chikankari kurti in M by Friday. Possible?"),
                 (1, "ai", "Hi Rahul! The Mustard Chikankari Kurti is {p[RZ-KUR-002]} and M is "
                  "in stock. Delivery takes 4-6 working days, so Friday can't be guaranteed."),
                 (3, "c", "Ok make the order anyway"),
                 (4, "ai", "I've drafted order {number} for {total}. Shall I send the payment "
                  "link?"),
                 (30, "c", "Actually cancel it, I need it sooner. Can I talk to a human?"),
                 (31, "ai", "Sure, connecting you with our team now."),
                 (45, "agent", "Hi Rahul, Rohit here from Rangrez. I've cancelled order "
                  "{number}; nothing was charged. In Delhi NCR we can try express shipping "
                  "next time."),
                 (50, "c", "Ok thanks, will come back"),
             ]},
            {"customer": "vikram", "campaign": "Diwali Festive Edit", "status": "closed",
             "referral": {"source": "ADS", "type": "OPEN_THREAD", "ad_id": "120208845512340001",
                          "headline": "Diwali Festive Edit: handcrafted sets"},
             "lead": 5, "sentiment": -0.2, "start": (3, 8), "opted_out": True,
             "messages": [
                 (0, "c", "Price of the banarasi saree?"),
                 (1, "ai", "Hi Vikram! The Maroon Banarasi Silk-Blend Saree is {p[RZ-SAR-001]}, "
                  "with zari borders and a blouse piece. Is it for a festive occasion?"),
                 (600, "c", "stop"),
                 (601, "sys", "You're unsubscribed and won't get more messages from us."),
             ]},
            {"customer": "priya", "campaign": "Diwali Festive Edit", "status": "converted",
             "referral": {"source": "ADS", "type": "OPEN_THREAD", "ad_id": "120208845512340001",
                          "headline": "Diwali Festive Edit: handcrafted sets"},
             "lead": 92, "sentiment": 0.8, "start": (2, 5),
             "order": {"status": "paid", "items": [("RZ-SET-001", 1)], "at": 9, "paid": 14},
             "messages": [
                 (0, "c", "Hi! Saw your Diwali post. Is the rust Anarkali set available?"),
                 (1, "ai", "Hello Priya! 🪔 Yes, the Rust Anarkali Kurta Set with Dupatta is "
                  "{p[RZ-SET-001]}, sizes XS to XXL. What size do you usually wear?"),
                 (4, "c", "M. Is the fabric heavy? Want to wear it for Lakshmi puja"),
                 (5, "ai", "It's a soft rayon-cotton blend with gota work, easy to wear all "
                  "evening. Would you like the Phulkari Embroidered Dupatta ({p[RZ-DUP-001]}) "
                  "with it?"),
                 (8, "c", "No just the set. How do I pay?"),
                 (9, "ai", "Order {number} for {total}. Pay securely here: {link}"),
                 (14, "c", "Paid ✅"),
                 (15, "ai", "Payment received, thank you Priya! Tracking follows once it "
                  "ships. Happy Diwali! 🪔"),
             ]},
            {"customer": "meera", "campaign": None, "status": "open", "lead": 45,
             "referral": {"source": "SHORTLINK", "type": "OPEN_THREAD", "ref": "bio-link"},
             "sentiment": 0.2, "start": (1, 7),
             "messages": [
                 (0, "c", "Is the ivory mul cotton short kurti available? Size S"),
                 (1, "ai", "Hi Meera! The Ivory Mul Cotton Short Kurti ({p[RZ-KUR-003]}) is "
                  "sold out right now, sorry! The Mustard Chikankari Kurti ({p[RZ-KUR-002]}) "
                  "is just as breathable and available in S."),
                 (9, "c", "Hmm ok. When will ivory be back?"),
                 (10, "ai", "We expect a restock in about two weeks. Shall I message you here "
                  "when it's back?"),
                 (12, "c", "Yes please 🙏"),
             ]},
            {"customer": "arjun", "campaign": "Diwali Festive Edit", "status": "open",
             "lead": 75, "sentiment": 0.4, "start": (0, 3),
             "order": {"status": "pending_payment", "at": 10,
                       "items": [("RZ-SET-001", 1), ("RZ-DUP-001", 1)]},
             "messages": [
                 (0, "c", "Hi I want to gift my mom something for Diwali. Budget around 3-4k"),
                 (1, "ai", "What a lovely idea, Arjun! 🪔 Two favourites: the Rust Anarkali "
                  "Kurta Set with Dupatta at {p[RZ-SET-001]} or the Maroon Banarasi Silk-Blend "
                  "Saree at {p[RZ-SAR-001]}. Does she prefer sarees or suits?"),
                 (5, "c", "Suits. Size L. Can you add a dupatta too?"),
                 (6, "ai", "The set includes one, but the Phulkari Embroidered Dupatta "
                  "({p[RZ-DUP-001]}) makes a beautiful extra. Both together come to {total}."),
                 (9, "c", "Ok do both"),
                 (10, "ai", "Done! Order {number} for {total}. Pay within 24 hours here: "
                  "{link} We'll gift-wrap it for free 🎁"),
             ]},
        ],
        "templates": [
            ("order_update", TargetPlatform.WHATSAPP, "utility", TemplateStatus.APPROVED,
             "Hi {{1}}, your Rangrez order {{2}} is now {{3}}. Track it here: {{4}}"),
            ("payment_reminder", TargetPlatform.WHATSAPP, "utility", TemplateStatus.PENDING,
             "Hi {{1}}, your order {{2}} for {{3}} is waiting for payment: {{4}}"),
        ],
        # name, match, action, response, priority
        "rules": [
            ("Unsubscribe", "stop,unsubscribe", RuleAction.OPT_OUT,
             "You're unsubscribed and won't get more messages from us.", 10),
            ("Talk to a human", "human,agent", RuleAction.HANDOFF,
             "Sure, connecting you with our team now.", 20),
        ],
    },
    {
        "name": "Second Store",
        "profile": {
            "business_name": "Diya & Wick Home", "owner_name": "Tara Menon",
            "industry": "Home decor and candles",
            "description": "Pune studio hand-pouring soy candles and making reed diffusers and "
            "terracotta diyas, sold online across India.",
            "website": "https://diyaandwick.example.in", "phone": "+91 90110 44556",
            "goals": "Sell festive gift sets over chat and grow corporate gifting enquiries.",
            "audience": "Urban homemakers and professionals 25-45 buying for their homes or "
            "as festive and corporate gifts.",
            "tone": "Calm, cosy and concise",
            "policies": "Prepaid only. Free shipping above ₹1,499. Cracked or melted candles "
            "replaced with a photo within 48 hours; 7-day returns on unused items.",
        },
        "categories": [
            ("Candles", "Hand-poured soy wax candles."),
            ("Diffusers", "Reed diffusers with natural oils."),
            ("Diyas & Holders", "Terracotta diyas and brass holders."),
        ],
        "products": [
            ("DW-CAN-001", "Sandalwood Soy Jar Candle (200 g)", "Candles", 64900, 27, True,
             "Creamy sandalwood and vetiver in a reusable amber jar, gift-boxed.",
             "Soy wax\n~40 h burn\nCotton wick"),
            ("DW-CAN-002", "Mogra Pillar Candle Set of 3", "Candles", 89900, 14, True,
             "Three jasmine-scented pillars in graded heights.",
             "Soy wax\n~30 h burn each"),
            ("DW-DIF-001", "Lemongrass Reed Diffuser (100 ml)", "Diffusers", 74900, 9, True,
             "Fresh lemongrass and ginger diffuser with rattan reeds.",
             "100 ml\nLasts 6-8 weeks"),
            ("DW-DIY-001", "Hand-painted Terracotta Diyas (Set of 6)", "Diyas & Holders", 49900,
             40, True, "Hand-painted by artisans in Khurja.", "Set of 6\nReusable"),
            ("DW-DIY-002", "Brass Tealight Urli", "Diyas & Holders", 139900, 0, True,
             "Brass urli for floating flowers and tealights.", "Solid brass\n8-inch diameter"),
        ],
        "campaigns": [
            {"name": "Festive Gifting", "target": TargetPlatform.ALL,
             "products": ["DW-CAN-001", "DW-CAN-002", "DW-DIY-001"], "ends_in_days": 25,
             "greeting": "Hello! 🕯️ Looking for a festive gift or something for your home?",
             "questions": ["Is it a gift or for your home?", "How many pieces do you need?",
                           "Any scent you love?"],
             "objections": "Melting in transit: we replace cracked or melted candles. Price: "
             "hand-poured soy lasts about twice as long as paraffin.",
             "closing": "Confirm quantity and total, then send the payment link.",
             "audience": "Diwali and corporate gift-buyers."},
        ],
        "channels": [],
        "documents": [("Candle care & shipping", CANDLE_DOC)],
        "customers": {
            "rohan": (Platform.PLAYGROUND, "playground-rohan", "Rohan Kapoor", None, None, "office"),
            "farah": (Platform.PLAYGROUND, "playground-farah", "Farah Khan", None, None, None),
            "sneha": (Platform.PLAYGROUND, "playground-sneha", "Sneha Joshi", "+91 90040 55667",
                      None, None),
        },
        "chats": [
            {"customer": "rohan", "campaign": "Festive Gifting", "status": "converted",
             "lead": 88, "sentiment": 0.7, "start": (7, 5),
             "order": {"status": "delivered", "items": [("DW-CAN-001", 3)], "at": 5, "paid": 15,
                       "tracking": "BD77123456789IN"},
             "messages": [
                 (0, "c", "Do you have gift-ready candles? Need 3 for office secret santa"),
                 (1, "ai", "Hi Rohan! The Sandalwood Soy Jar Candle (200 g) is {p[DW-CAN-001]} "
                  "and comes gift-boxed, perfect for secret santa."),
                 (4, "c", "Great, 3 of those"),
                 (5, "ai", "Order {number} for 3 candles: {total}. Pay here: {link}"),
                 (3 * 1440, "ai", "Your order {number} was delivered today. Enjoy! 🕯️"),
             ]},
            {"customer": "farah", "campaign": "Festive Gifting", "status": "open", "lead": 30,
             "sentiment": 0.0, "start": (2, 2),
             "messages": [
                 (0, "c", "Is the brass urli back in stock?"),
                 (1, "ai", "Hi Farah! The Brass Tealight Urli ({p[DW-DIY-002]}) is sold out "
                  "right now. The Hand-painted Terracotta Diyas (Set of 6) at {p[DW-DIY-001]} "
                  "are a lovely alternative for Diwali."),
                 (7, "c", "Will think, thanks"),
             ]},
            {"customer": "sneha", "campaign": "Festive Gifting", "status": "open", "lead": 70,
             "sentiment": 0.6, "start": (1, 2),
             "order": {"status": "pending_payment", "items": [("DW-CAN-002", 2)], "at": 7},
             "messages": [
                 (0, "c", "Hi, what does the mogra pillar candle set smell like?"),
                 (1, "ai", "Hi Sneha! The Mogra Pillar Candle Set of 3 ({p[DW-CAN-002]}) smells "
                  "of fresh jasmine with a soft musky base. Each pillar burns ~30 hours."),
                 (6, "c", "Lovely. I'll take 2 sets"),
                 (7, "ai", "Order {number} for 2 sets comes to {total}. Pay here: {link}"),
             ]},
        ],
        "templates": [],
        "rules": [],
    },
]

WHO = {  # chat script speaker -> (direction, sender)
    "c": (Direction.IN, Sender.CUSTOMER),
    "ai": (Direction.OUT, Sender.AI),
    "agent": (Direction.OUT, Sender.AGENT),
    "sys": (Direction.OUT, Sender.SYSTEM),
}
