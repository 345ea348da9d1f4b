"""Every command of the app with its shortcuts, in one table: menus, toolbar and the help overlay read it.

Shortcuts follow labelme / X-AnyLabeling where they have one (D/A, Ctrl+J, Ctrl+N, Delete, Ctrl+S,
Ctrl+F, Ctrl+Z, Ctrl+R for rectangles, Ctrl+C/V/D). The issue adds I, Ctrl+B, T and Ctrl+E; the editing
tools add B (brush), E (eraser), Ctrl+Shift+R (ellipse) and Ctrl+M / Ctrl+Shift+M (merge / split).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import QWidget

from protolabel.resources import action_icon_path


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    shortcuts: tuple[str, ...]
    help: str
    menu: str
    checkable: bool = False


# Undo and redo come from the QUndoGroup (the window sets these shortcuts on them).
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open_folder", "&Open Folder…", ("Ctrl+O", "Ctrl+U"), "Open a folder of images", "File"),
    ActionSpec(
        "save", "&Save", ("Ctrl+S",), "Every edit is already saved; this also folds the log into the database", "File"
    ),
    ActionSpec(
        "import_coco",
        "&Import…",
        ("Ctrl+Shift+I",),
        "Merge annotations (COCO, labelme, YOLO, ...; the format is recognised) into this folder's project",
        "File",
    ),
    ActionSpec(
        "export_coco", "&Export…", ("Ctrl+E",), "Write COCO, labelme, YOLO, ... (all or verified images)", "File"
    ),
    ActionSpec("quit", "&Quit", ("Ctrl+Q",), "Quit", "File"),
    ActionSpec("next_image", "&Next Image", ("D",), "Next image (in the filtered list)", "View"),
    ActionSpec("previous_image", "&Previous Image", ("A",), "Previous image", "View"),
    ActionSpec("fit", "&Fit Image", ("Ctrl+F",), "Fit the image in the window", "View"),
    ActionSpec("zoom_in", "Zoom &In", ("Ctrl++", "Ctrl+="), "Zoom in (or use the wheel: zooms to the cursor)", "View"),
    ActionSpec("zoom_out", "Zoom &Out", ("Ctrl+-",), "Zoom out", "View"),
    ActionSpec(
        "toggle_objects", "&Hide All Objects", ("T",), "Hide or show all masks and outlines", "View", checkable=True
    ),
    ActionSpec("help", "&Shortcuts", ("F1", "?"), "Show or hide this list", "Help"),
    ActionSpec("about", "&About Protolabel", (), "Version, the device the model runs on, and the licence", "Help"),
    ActionSpec("undo", "&Undo", ("Ctrl+Z",), "Undo the last edit of this image", "Edit"),
    ActionSpec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo", "Edit"),
    ActionSpec("edit_mode", "&Edit Polygons", ("Ctrl+J",), "Select, move, drag vertices", "Edit", checkable=True),
    ActionSpec(
        "draw_mode",
        "&Create Polygon",
        ("Ctrl+N", "P"),
        "Click points; click the first point, double-click or Enter closes; Esc cancels",
        "Edit",
        checkable=True,
    ),
    ActionSpec(
        "draw_part",
        "Add Part or &Hole",
        ("Ctrl+Shift+N",),
        "Draw a ring for the selected object: inside it becomes a hole, outside a new part",
        "Edit",
        checkable=True,
    ),
    ActionSpec(
        "brush_mode",
        "&Brush",
        ("B",),
        "Paint pixels onto the selected object (none selected: a new object); [ and ] change the radius",
        "Edit",
        checkable=True,
    ),
    ActionSpec(
        "eraser_mode",
        "E&raser",
        ("E",),
        "Erase pixels from the selected object (a stroke across it cuts it in two); [ and ] change the radius",
        "Edit",
        checkable=True,
    ),
    ActionSpec(
        "rectangle_mode",
        "Create Rec&tangle",
        ("Ctrl+R",),
        "Drag a box: a new four-vertex object",
        "Edit",
        checkable=True,
    ),
    ActionSpec(
        "ellipse_mode",
        "Create E&llipse",
        ("Ctrl+Shift+R",),
        "Drag a box: a new elliptic object",
        "Edit",
        checkable=True,
    ),
    ActionSpec("copy_objects", "&Copy Objects", ("Ctrl+C",), "Copy the selected objects", "Edit"),
    ActionSpec(
        "paste_objects",
        "&Paste Objects",
        ("Ctrl+V",),
        "Paste the copied objects at the same place (on any image; clipped to it)",
        "Edit",
    ),
    ActionSpec(
        "duplicate_objects", "D&uplicate Objects", ("Ctrl+D",), "Copy the selected objects beside themselves", "Edit"
    ),
    ActionSpec(
        "merge_objects",
        "&Merge Objects",
        ("Ctrl+M",),
        "Make the selected objects of one class one object (its parts)",
        "Edit",
    ),
    ActionSpec(
        "split_object", "&Split Object", ("Ctrl+Shift+M",), "Make each part of the selected object an object", "Edit"
    ),
    ActionSpec("delete_object", "&Delete Object", ("Delete",), "Delete the selected object", "Edit"),
    ActionSpec("change_class", "Change &Class…", ("Ctrl+L",), "Give the selected object another class", "Edit"),
    ActionSpec(
        "edit_attributes",
        "Edit &Attributes",
        ("F2",),
        "Type in the selected object's attributes: Tab moves from one to the next, Esc goes back",
        "Edit",
    ),
    *(
        ActionSpec(
            f"class_{n}", f"Class {n}", (str(n),), f"Give the selected objects class {n} of the Classes dock", "Edit"
        )
        for n in range(1, 10)
    ),
    ActionSpec("verify_image", "Mark Image &Verified", ("V",), "Accept every object of this image as correct", "Edit"),
    ActionSpec(
        "accept_object",
        "&Accept Object",
        ("Y",),
        "The selected object is correct (verified), then go to the next unverified one",
        "Review",
    ),
    ActionSpec(
        "reject_object",
        "Re&ject Object",
        ("N",),
        "Delete the selected object, then go to the next unverified one",
        "Review",
    ),
    ActionSpec(
        "next_unverified",
        "&Next Unverified Object",
        ("Tab",),
        "Select and zoom to the next object not yet verified (opens the next image as needed)",
        "Review",
    ),
    ActionSpec(
        "previous_unverified",
        "&Previous Unverified Object",
        ("Shift+Tab",),
        "Select and zoom to the previous object not yet verified",
        "Review",
    ),
    ActionSpec(
        "zoom_to_object", "&Zoom to Object", ("Z",), "Zoom to the selected object with room around it", "Review"
    ),
    ActionSpec("hide_objects", "&Hide Object", ("H",), "Hide the selected objects (again: show them)", "Review"),
    ActionSpec(
        "attribute_schema",
        "&Attributes…",
        (),
        "Define the attributes objects carry: add, rename, remove, reorder; kind, choices, default",
        "Project",
    ),
    ActionSpec("autolabel_image", "Auto-label &Image", ("I",), "Run the model on this image", "Auto-label"),
    ActionSpec(
        "ask_before_relabel",
        "Ask Before &Labelling Again",
        (),
        "I on an image that has objects first says how many auto objects the run replaces",
        "Auto-label",
        checkable=True,
    ),
    ActionSpec(
        "autolabel_all",
        "Auto-label &All Unlabeled",
        ("Ctrl+B",),
        "Run the model on every unlabeled image",
        "Auto-label",
    ),
    ActionSpec(
        "autolabel_video",
        "Auto-label This &Video",
        (),
        "Run the model on every frame of the video shown and join its objects into tracks",
        "Auto-label",
    ),
    ActionSpec(
        "propagate_track",
        "&Propagate Correction",
        ("Ctrl+P",),
        "Carry the selected object's shape along its track, forward and backward, by running the model on each "
        "frame, up to the track's next frames a person made (undo: Ctrl+Z)",
        "Auto-label",
    ),
    ActionSpec(
        "interpolate_track",
        "I&nterpolate Between Keyframes",
        ("Ctrl+Shift+P",),
        "Fill the selected object's track between the two frames around this one that a person made, by "
        "blending their outlines (one outline each, no holes)",
        "Auto-label",
    ),
    ActionSpec(
        "region_mode",
        "Re-detect in &Region",
        ("R",),
        "Drag a rectangle: the model runs again on it, scaled up (small objects); new detections are offered "
        "in the Prototype Inspector",
        "Auto-label",
        checkable=True,
    ),
    ActionSpec("cancel_jobs", "&Cancel Auto-labeling", ("Ctrl+.",), "Stop after the image in progress", "Auto-label"),
    ActionSpec(
        "open_weights",
        "Open &Model…",
        (),
        "Use a local YOLACT model: a .pth checkpoint or an exported .onnx",
        "Auto-label",
    ),
    ActionSpec("model_manager", "&Official Models…", (), "Download an official YOLACT checkpoint", "Auto-label"),
    ActionSpec("class_mapping", "Class &Filter and Mapping…", (), "Keep some model classes, rename them", "Auto-label"),
    ActionSpec(
        "train_project",
        "&Train on This Project…",
        ("Ctrl+Shift+T",),
        "Fine-tune the model on this project's verified objects (a separate process with live loss, Cancel "
        "and Resume), then auto-label the rest with it",
        "Auto-label",
    ),
)

# Mouse gestures are not QActions but belong in the same help list.
GESTURES: tuple[tuple[str, str], ...] = (
    ("Wheel", "Zoom in/out at the cursor"),
    ("Drag on empty space / middle drag", "Pan"),
    ("Click an object", "Select it; drag to move it"),
    ("Ctrl+click an object", "Add it to or remove it from the selection (merge needs two)"),
    ("Drag a vertex", "Move it (selected object)"),
    ("Double-click or Ctrl+click an edge", "Insert a vertex there (Ctrl/Alt+drag: and move it)"),
    ("Shift+click a vertex", "Delete it"),
    ("Backspace", "While drawing: remove the last point; else delete the vertex under the mouse"),
    ("[ / ]", "Brush and eraser: smaller / larger radius (the circle at the cursor)"),
    ("Esc", "Cancel the shape or stroke in progress; again: leave the tool for Edit Polygons; in editing: deselect"),
    ("Right click while drawing", "Remove the last point"),
)

MENU_ORDER = ("File", "Edit", "Review", "View", "Project", "Auto-label", "Help")

# The canvas modes: one exclusive group of checked actions (action name -> mode); Esc returns to edit_mode.
MODE_ACTIONS: dict[str, str] = {
    "edit_mode": "edit",
    "draw_mode": "draw",
    "draw_part": "part",
    "rectangle_mode": "rectangle",
    "ellipse_mode": "ellipse",
    "brush_mode": "brush",
    "eraser_mode": "eraser",
    "region_mode": "region",
}


def build_actions(parent: QWidget, handlers: Mapping[str, Callable]) -> dict[str, QAction]:
    """QActions for every spec with a handler, shortcuts set, added to `parent` so they work in any dock."""
    actions = {}
    for spec in ACTIONS:
        handler = handlers.get(spec.name)
        if handler is None:
            continue
        action = QAction(action_icon(spec.name), spec.text, parent)
        action.setObjectName(spec.name)
        action.setShortcuts([QKeySequence(s) for s in spec.shortcuts])
        action.setToolTip(f"{spec.help} ({', '.join(spec.shortcuts)})" if spec.shortcuts else spec.help)
        action.setStatusTip(spec.help)
        action.setCheckable(spec.checkable)
        (action.toggled if spec.checkable else action.triggered).connect(handler)
        parent.addAction(action)
        actions[spec.name] = action
    return actions


def action_icon(name: str) -> QIcon:
    """The action's icon from resources/icons/actions/ (an empty QIcon for actions without one)."""
    path = action_icon_path(name)
    return QIcon(str(path)) if path is not None else QIcon()
