"""Units of work. Each public function does one thing for one tenant; services own the commit."""
