"""Outside-world clients (Graph API, Razorpay, Groq): typed errors, timeouts; no Flask, no DB."""
