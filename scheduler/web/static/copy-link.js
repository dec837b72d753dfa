// The subscription page: select the address on focus, copy it with one button.
(function () {
  var input = document.getElementById("feed-url"), button = document.getElementById("copy"),
      status = document.getElementById("copy-status");
  input.addEventListener("focus", function () { input.select(); });
  if (!navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(input.value).then(function () {
      status.textContent = button.dataset.done;
    }, function () {
      input.focus();
      input.select();
      status.textContent = button.dataset.failed;
    });
  });
})();
