// Live parts of the console: poll Sync ID's result and the backfill's progress.
"use strict";

function poll(url, every, onAnswer) {
  const tick = async () => {
    try {
      const reply = await fetch(url, { headers: { Accept: "application/json" } });
      if (reply.ok && onAnswer(await reply.json())) return;
    } catch (error) { /* the next tick tries again */ }
    setTimeout(tick, every);
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  const result = document.getElementById("sync-result");
  if (result) {
    poll(result.dataset.poll, 500, (answer) => {
      if (!answer.done) return false;
      result.innerHTML = answer.html;
      return true;
    });
  }
  const progress = document.getElementById("backfill-progress");
  if (progress) {
    const bar = document.getElementById("backfill-bar");
    const words = document.getElementById("backfill-words");
    poll(progress.dataset.poll, 500, (job) => {
      if (job.status === "none") return true;
      bar.value = job.percent;
      const total = job.estimated_total ? ` of about ${job.estimated_total}` : "";
      const left = job.time_left ? ` · ${job.time_left} left at the ledger's rate limits` : "";
      const failed = job.status === "failed" ? ` · stopped: ${job.error}` : "";
      words.textContent = `${job.percent} % · ${job.published}${total} invoices sent · ${job.status}${left}${failed}`;
      progress.dataset.status = job.status;
      return job.status === "done" || job.status === "failed";
    });
  }
  const recon = document.getElementById("reconciliation");
  if (recon) {
    const words = document.getElementById("reconciliation-words");
    poll(recon.dataset.poll, 700, (job) => {
      if (job.status === "none") return true;
      recon.dataset.status = job.status;
      const calls = `${job.api_calls.total} API calls`;
      if (job.status === "done") {
        words.textContent = `Done · ${calls}`;
        document.getElementById("reconciliation-report").innerHTML = job.html;
        return true;
      }
      const paused = job.error ? ` · ${job.error}` : "";
      words.textContent = `${job.status} · reading ${job.phase} · ${job.orders_read} Keap orders, ${job.ledger_invoices_read} ledger invoices · ${calls}${paused}`;
      return job.status === "failed";
    });
  }
});
