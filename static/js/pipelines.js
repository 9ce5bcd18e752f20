// The pipelines list and the step editor. The editor works without this script (every
// button posts the whole form); here: sliders for bounded numbers, and a question
// before deleting a pipeline.
import { wireConfirmations } from "./common.js";
import { wireSliders } from "./tool_fields.js";

wireSliders(document.getElementById("pipeline-form") ?? document);
wireConfirmations();
