"""The Streamlit shell: entry/router, shared UI pieces, the only reader of st.secrets."""
