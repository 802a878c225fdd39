/* forensics entry: photo viewer, live protocol checks, drag-and-drop upload.
 *
 * The live check evaluates the rules the server exported as data
 * (ProtocolForm.rules_data: terms, operator, tolerance of each
 * forensics.reconcile rule); the server checks the same rules again on save.
 */
"use strict";

(function () {
  // ---------------------------------------------------------------- rules
  function RuleSet(data) { this.data = data; }

  RuleSet.prototype.value = function (name, v) {
    var d = this.data;
    if (Object.prototype.hasOwnProperty.call(d.lines, name)) { return v[name]; }
    if (name === "party_votes") {
      if (!d.parties.length) { return undefined; }
      var total = 0;
      for (var i = 0; i < d.parties.length; i++) { total += v[d.parties[i]]; }
      return total;  // NaN when a party line is blank
    }
    if (Object.prototype.hasOwnProperty.call(d.derived, name)) { return this.side(d.derived[name], v); }
    return undefined;  // the form has no such line
  };

  RuleSet.prototype.side = function (terms, v) {
    var total = 0;
    for (var i = 0; i < terms.length; i++) {
      var t = terms[i];
      if (t.name === null) { total += t.sign * t.constant; continue; }
      var x = this.value(t.name, v);
      if (x === undefined) { if (!t.optional) { return undefined; } continue; }
      if (t.optional && isNaN(x)) { x = 0; }
      total += t.sign * x;
    }
    return total;
  };

  function holds(d, op) {
    return op === "==" ? d === 0 : op === "<=" ? d <= 0 : op === ">=" ? d >= 0 : d !== 0;
  }

  /* Each rule's outcome for values v (line key -> number, NaN when blank):
   * {rule, state: "ok" | "broken" | "blank", lhs, rhs} */
  RuleSet.prototype.check = function (v) {
    var out = [];
    for (var i = 0; i < this.data.rules.length; i++) {
      var r = this.data.rules[i];
      var lhs = this.side(r.lhs, v), rhs = this.side(r.rhs, v);
      var tol = r.tolerance, base = null;
      if (tol.relative !== null) { base = this.value(tol.base, v); }
      if (lhs === undefined || rhs === undefined || base === undefined) { continue; }
      var when = null;
      if (r.when) {
        var a = this.side(r.when.lhs, v), b = this.side(r.when.rhs, v);
        if (a === undefined || b === undefined) { continue; }
        when = holds(a - b, r.when.op);
      }
      if (isNaN(lhs) || isNaN(rhs) || (base !== null && isNaN(base))) {
        out.push({rule: r, state: "blank"}); continue;
      }
      var d = lhs - rhs, bad;
      if (r.op === "!=") { bad = d === 0; } else {
        var gap = r.op === "==" ? Math.abs(d) : r.op === "<=" ? Math.max(d, 0) : Math.max(-d, 0);
        bad = gap > 0;
        if (tol.absolute !== null || tol.relative !== null) {
          var reach = false;
          if (tol.absolute !== null) { reach = reach || gap >= tol.absolute; }
          if (tol.relative !== null) { reach = reach || gap >= tol.relative * (isNaN(base) ? 0 : base); }
          bad = bad && reach;
        }
      }
      if (when !== null) { bad = bad && when; }
      out.push({rule: r, state: bad ? "broken" : "ok", lhs: lhs, rhs: rhs});
    }
    return out;
  };

  window.forensicsRules = {
    RuleSet: RuleSet,
    /* codes broken by values (an object line key -> number or null); used by the tests */
    broken: function (data, values) {
      var v = {}, keys = Object.keys(data.lines);
      for (var i = 0; i < keys.length; i++) {
        var x = values[keys[i]];
        v[keys[i]] = (x === null || x === undefined || x === "") ? NaN : Number(x);
      }
      return new RuleSet(data).check(v).filter(function (c) { return c.state === "broken"; })
        .map(function (c) { return c.rule.code; });
    }
  };

  function text(el, s) { el.textContent = s; return el; }
  function make(tag, cls) { var e = document.createElement(tag); if (cls) { e.className = cls; } return e; }

  function liveForm(form) {
    var holder = document.getElementById("rules-data");
    if (!holder) { return; }
    var data = JSON.parse(holder.textContent), rules = new RuleSet(data);
    var panel = document.getElementById("live-checks"), confirmBox = document.getElementById("confirm-box");
    var confirm = document.getElementById("confirm_as_written");
    var inputs = form.querySelectorAll("input[data-key]");

    function read() {
      var v = {}, blanks = [];
      for (var i = 0; i < inputs.length; i++) {
        var raw = inputs[i].value.replace(/[\s\u00a0\u202f'’]/g, ""), key = inputs[i].dataset.key;
        var bad = raw !== "" && !/^[0-9]+$/.test(raw);
        inputs[i].classList.toggle("bad", bad);
        v[key] = raw === "" || bad ? NaN : Number(raw);
        if (raw === "") { blanks.push(inputs[i].dataset.number); }
      }
      return {v: v, blanks: blanks};
    }

    function render() {
      var state = read(), results = rules.check(state.v), errors = 0;
      panel.innerHTML = "";
      var broken = results.filter(function (c) { return c.state === "broken"; });
      if (!broken.length) {
        panel.appendChild(text(make("p", "ok"), "No control relation is broken by the figures entered so far."));
      }
      broken.forEach(function (c) {
        var box = make("div", "finding " + c.rule.severity);
        if (c.rule.severity === "error") { errors++; }
        var head = make("p");
        head.appendChild(text(make("strong"), c.rule.code));
        head.appendChild(document.createTextNode(" (" + c.rule.severity + "): " + c.rule.title +
          " — " + c.lhs + " vs " + c.rhs));
        box.appendChild(head);
        box.appendChild(text(make("p", "explain"), c.rule.explanation));
        box.dataset.code = c.rule.code;
        panel.appendChild(box);
      });
      if (state.blanks.length) {
        panel.appendChild(text(make("p", "blank-note"), "Blank (unreadable) lines: " + state.blanks.join(", ")));
      }
      var needs = errors > 0 || state.blanks.length > 0;
      confirmBox.hidden = !needs;
      form.dataset.errors = String(errors);
    }

    form.addEventListener("input", function (ev) {
      if (ev.target !== confirm) { confirm.checked = false; }
      render();
    });
    render();
  }

  // ---------------------------------------------------------------- photo viewer
  function viewer(root) {
    var img = root.querySelector("img.photo"), zoom = 1, turn = 0;
    function apply() {
      img.style.transform = "rotate(" + turn + "deg) scale(" + zoom + ")";
      root.dataset.zoom = String(zoom); root.dataset.rotation = String(turn);
    }
    root.addEventListener("click", function (ev) {
      var act = ev.target.dataset && ev.target.dataset.act;
      if (!act) { return; }
      if (act === "zoom-in") { zoom = Math.min(zoom * 1.25, 8); }
      if (act === "zoom-out") { zoom = Math.max(zoom / 1.25, 0.25); }
      if (act === "rotate") { turn = (turn + 90) % 360; }
      if (act === "reset") { zoom = 1; turn = 0; }
      if (act === "show") { img.src = ev.target.dataset.src; zoom = 1; turn = 0; }
      apply();
    });
    img.addEventListener("wheel", function (ev) {
      if (!ev.ctrlKey) { return; }
      ev.preventDefault();
      zoom = ev.deltaY < 0 ? Math.min(zoom * 1.1, 8) : Math.max(zoom / 1.1, 0.25);
      apply();
    }, {passive: false});
    apply();
  }

  // ---------------------------------------------------------------- drag-and-drop upload
  function dropzone(zone) {
    var form = zone.closest("form"), log = document.getElementById("upload-log");
    function send(files) {
      var body = new FormData();
      for (var i = 0; i < files.length; i++) { body.append("photos", files[i], files[i].name); }
      body.append("pattern", form.querySelector("[name=pattern]").value);
      text(log, "Uploading " + files.length + " file(s)…");
      fetch(form.action, {method: "POST", body: body, credentials: "same-origin",
        headers: {"Accept": "application/json", "X-CSRFToken": form.querySelector("[name=csrf_token]").value}})
        .then(function (r) { return r.json(); })
        .then(function (reply) {
          log.innerHTML = "";
          if (reply.error) { log.appendChild(text(make("p", "error"), reply.error)); }
          reply.results.forEach(function (r) {
            log.appendChild(text(make("p", r.status === "stored" ? "ok" : "error"),
              r.name + ": " + r.status + " — " + r.message));
          });
          log.dataset.done = "1";
        })
        .catch(function (e) { text(log, "Upload failed: " + e); });
    }
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
    });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (ev) {
      ev.preventDefault(); zone.classList.remove("over");
      if (ev.dataTransfer.files.length) { send(ev.dataTransfer.files); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("protocol-form");
    if (form) { liveForm(form); }
    document.querySelectorAll(".viewer").forEach(viewer);
    document.querySelectorAll(".dropzone").forEach(dropzone);
  });
})();
