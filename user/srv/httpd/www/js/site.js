// Marks the link to the current page.
document.querySelectorAll("a").forEach(function (a) {
	if (a.getAttribute("href") === location.pathname.split("/").pop())
		a.classList.add("here");
});
