"""Leo, the owner's analytics assistant: periods read from questions, tools over the analytics
functions bound to one tenant, an offline answerer and a Groq tool-calling one."""
