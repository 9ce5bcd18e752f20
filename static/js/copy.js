import { wireConfirmations, wireCopyButtons } from "./common.js";

wireCopyButtons();
wireConfirmations();
