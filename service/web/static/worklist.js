// The worklist refreshes itself (htmx polling). A refresh replaces the table, which would throw
// keyboard focus back to the page: while focus is inside the table the refresh is skipped and
// the page says so; it resumes at the next tick after the user leaves.
document.addEventListener("htmx:beforeRequest", function (event) {
  var worklist = document.getElementById("worklist");
  if (!worklist || event.detail.elt !== worklist) return;
  var paused = worklist.contains(document.activeElement) && document.activeElement !== worklist;
  var note = worklist.querySelector(".paused");
  if (note) note.hidden = !paused;
  if (paused) event.preventDefault();
});
