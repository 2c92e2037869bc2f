"""InvoiceSync: keeps Keap invoices and payments in step with Xero and QuickBooks Online."""
