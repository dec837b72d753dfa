// The delivery form: send it with a progress bar; the answer replaces the page.
(function () {
  var form = document.getElementById("deliver");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var bar = document.getElementById("upload-progress"), status = document.getElementById("upload-status"),
      button = document.getElementById("deliver-submit");
  var sending = form.dataset.sending, failed = form.dataset.failed;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.onprogress = function (e) {
      if (!e.lengthComputable) return;
      bar.max = e.total; bar.value = e.loaded;
      status.textContent = sending + " " + Math.round(100 * e.loaded / e.total) + " %";
    };
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) { window.location.assign(xhr.responseURL); return; }
      document.open(); document.write(xhr.responseText); document.close();
    };
    xhr.onerror = function () { bar.hidden = true; button.disabled = false; status.textContent = failed; };
    bar.hidden = false; button.disabled = true; status.textContent = sending;
    xhr.send(new FormData(form));
  });
})();
