"""The dashboard's Streamlit-side helpers, shared by ``app.py`` and the page scripts.

``session`` holds the server singletons (the Demo account's sandbox, pending OAuth sign-ins,
the result cache) and the session's connection; ``ui`` the wording of errors, the sidebar
panel and download buttons; ``views`` fetching, caching, tables and charts. Only this
package and the page scripts import streamlit; everything they show comes from
``xmetrics_core``. They live outside ``pages/`` so that the folder holds page scripts only.
"""
