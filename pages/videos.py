import streamlit as st

st.title('videos')
