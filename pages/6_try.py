"""Step 6: give the trained model a new picture or sentence and see what it predicts."""
import streamlit as st

from pages.common import charts, engine, frame, runview, understand
from pages.common.frame import esc

project = frame.start("try")

run = runview.pick_run("try", label="Which model?")
if run is None:
    st.info("No trained model yet. Train one first, then try it here with new examples.", icon=":material/info:")
    frame.link("train" if project else "welcome", "Go to step 4: Train" if project else "Go to step 1: Welcome")
    st.stop()
model, message = engine.predictor(run)
if message:
    frame.error(message)
    st.stop()
st.caption("It knows these classes: " + esc(", ".join(model.classes)))
LIMIT = f"Up to {st.get_option('server.maxUploadSize')} MB."


# Below this, an answer reads as a best guess, not a verdict: a tomato-leaf model 45 % sure of "early blight" and
# 40 % of "late blight" was headed "The model says: early blight" like one 99 % sure. Calibrated probabilities (each
# run fits a temperature) make the share meaningful: at 60 % it is right about 60 % of the time.
SURE_FROM = 0.6


def show(top: list[tuple[str, float]]) -> None:
    best, probability = top[0]
    if probability >= SURE_FROM:
        st.markdown(f"### The model says: {esc(best)}")
        st.caption(f"{probability:.0%} sure. Below: the classes it considered most likely.")
    else:
        st.markdown(f"### The model's best guess: {esc(best)}")
        runner_up = f", then {esc(top[1][0])} at {top[1][1]:.0%}" if len(top) > 1 else ""
        st.caption(f"It is not sure: only {probability:.0%} for {esc(best)}{runner_up}. Below: the classes it "
                   f"considered most likely.")
    st.plotly_chart(charts.predictions(top), key="prediction_chart", config=charts.CONFIG)


if model.kind == "image":
    source = st.segmented_control("Where is the picture?", ["upload", "webcam"], default="upload", required=True,
                                  key="try_source", format_func={"upload": "Upload a picture",
                                                                 "webcam": "Take one with the webcam"}.get)
    if source == "webcam":
        picture = st.camera_input("Point the webcam at something", key="try_camera", width=520)
    else:
        picture = st.file_uploader("A picture the model has not seen", key="try_upload",
                                   type=["jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff"], help=LIMIT)
        st.caption(LIMIT)
    if picture is None:
        st.info("Add a picture to see what the model thinks it shows.", icon=":material/image:")
        st.stop()
    # Presenter mode gives the picture half the page: in a third, its larger text cut the heat map's switch to
    # "Show where the mode…".
    left, right = st.columns([1, 1] if frame.presenting() else [1, 2], gap="large")
    data = picture.getvalue()
    result, message = engine.predict(run, [data], top_k=5)
    with left:
        if message:
            frame.error(message)
        else:
            st.image(data, width="stretch")
            if st.toggle("Show where the model looked", key="try_cam",
                         help="A heat map over the picture: the bright parts made the model choose its answer."):
                looked, problem = understand.heat_map(run, data)
                if problem:
                    frame.error(problem)
                else:
                    st.caption(f"Evidence for **{esc(looked[1])}**:")
                    st.image(looked[0], width="stretch")
                    st.caption(understand.how_to_read("gradcam"))
    if result:
        with right:
            show(result[0])
else:
    with st.form("try_text", border=False):
        text = st.text_area("Type or paste a sentence", key="try_text_input", height=120,
                            placeholder="A sentence like the ones in your data")
        asked = st.form_submit_button("Predict", type="primary", icon=":material/send:")
    if not text.strip():
        st.info("Type a sentence and press Predict to see which class the model picks.", icon=":material/edit:")
        st.stop()
    result, message = engine.predict(run, [text], top_k=5)
    if message:
        frame.error(message)
    else:
        show(result[0])
