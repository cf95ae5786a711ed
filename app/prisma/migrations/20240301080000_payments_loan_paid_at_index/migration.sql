-- CreateIndex
CREATE INDEX CONCURRENTLY "payments_loanId_paidAt_idx" ON "payments"("loanId", "paidAt");
