"""Payments: the link for an order, Razorpay's events applied to orders, refunds, reconciliation.

One room per concern:
- `gateway`: whether money goes through Razorpay (live) or the test-mode page, and the one
  Razorpay client; closing a link before its order stops standing.
- `links`: making an order's payment link and putting it in the chat.
- `events`: storing Razorpay's events and applying each to the one order it names.
- `test_mode`: the test-mode page's events and its links' expiry (never in production).
- `fulfilment`: staff moving a paid order on, or cancelling a pending one.
- `refunds`: asking for a refund and executing one.
- `reconcile`: catching up on links whose webhook never came.

In production, and wherever Razorpay keys are configured, links are Razorpay payment links
made through the SDK with the order's `payment_reference` as `reference_id` (a retried job can't
make a second one). In development and testing without keys (the embedded default) an order
gets a clearly-labelled *test-mode* page of our own (/pay/test/<token>) whose buttons raise the
same events Razorpay would, through the same code, so the demo completes a sale end to end.
Test mode never runs in production, keys or not: it marks orders paid without any money.
"""
