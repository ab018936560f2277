"""Who answers the customer: the campaign chat flow now; the AI salesperson replaces it."""
