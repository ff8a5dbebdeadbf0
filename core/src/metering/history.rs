//! The history of closed periods: the reports of the last
//! [`MeterConfig::history_periods`](super::MeterConfig::history_periods)
//! periods closed, kept by the meter so that a caller that lost a
//! [`PeriodReport`] can read it again.
//!
//! A report in the history is the one [`Meter::close_period`] returned,
//! unchanged: a late event never rewrites it. Its correction is an
//! [`Adjustment`](super::Adjustment) in the report of the period that was
//! open when the event arrived, billed there on lines that name the
//! corrected period ([`InvoiceLine::corrects`](super::InvoiceLine::corrects)).

use std::collections::VecDeque;

use crate::ids::TenantId;

use super::error::MeterRestoreError;
use super::invoice::Invoice;
use super::usage::PeriodId;
use super::{Meter, PeriodReport};

/// The default [`MeterConfig::history_periods`](super::MeterConfig::history_periods):
/// twelve periods (a year of monthly periods).
pub const DEFAULT_HISTORY_PERIODS: u32 = 12;

/// The reports of the latest closed periods, oldest first, contiguous.
#[derive(Clone, Debug, Default)]
pub(super) struct History(VecDeque<PeriodReport>);

impl History {
    /// Keep `report`, dropping the oldest reports beyond `bound`.
    pub(super) fn push(&mut self, report: &PeriodReport, bound: u32) {
        let bound = bound as usize;
        if bound == 0 {
            return;
        }
        while self.0.len() >= bound {
            self.0.pop_front();
        }
        self.0.push_back(report.clone());
    }

    /// The report of `period`, if kept.
    pub(super) fn get(&self, period: PeriodId) -> Option<&PeriodReport> {
        let first = self.0.front()?.period.id.0;
        let i = usize::try_from(period.0.checked_sub(first)?).ok()?;
        self.0.get(i)
    }

    pub(super) fn iter(
        &self,
    ) -> impl ExactSizeIterator<Item = &PeriodReport> + DoubleEndedIterator {
        self.0.iter()
    }

    pub(super) fn to_vec(&self) -> Vec<PeriodReport> {
        self.0.iter().cloned().collect()
    }
}

impl Meter {
    /// The reports of the closed periods the meter keeps, oldest first: the
    /// last [`MeterConfig::history_periods`](super::MeterConfig::history_periods)
    /// closed (fewer until that many have closed), each exactly as
    /// [`Meter::close_period`] returned it. The oldest is dropped first.
    pub fn history(&self) -> impl ExactSizeIterator<Item = &PeriodReport> + DoubleEndedIterator {
        self.history.iter()
    }

    /// The report of closed period `period`, if the history still holds
    /// it (`None` for the open period, a period not closed yet, or one
    /// dropped from the history).
    pub fn closed_report(&self, period: PeriodId) -> Option<&PeriodReport> {
        self.history.get(period)
    }

    /// The invoices of closed period `period`, one per tenant billed, by
    /// tenant, if the history still holds it.
    pub fn closed_invoices(&self, period: PeriodId) -> Option<&[Invoice]> {
        self.history.get(period).map(|r| r.invoices.as_slice())
    }

    /// The invoice of `tenant` for closed period `period`, if the history
    /// still holds the period and the tenant was billed in it. Corrections
    /// that arrived later are not in it: they are adjustment lines of the
    /// invoice of the period open when they arrived.
    pub fn closed_invoice(&self, period: PeriodId, tenant: &TenantId) -> Option<&Invoice> {
        let invoices = self.closed_invoices(period)?;
        invoices
            .binary_search_by(|i| i.tenant.cmp(tenant))
            .ok()
            .and_then(|i| invoices.get(i))
    }

    /// Check the history of a snapshot against the meter being restored
    /// (its configuration and closed periods set) and keep it.
    pub(super) fn restore_history(
        &mut self,
        history: Vec<PeriodReport>,
    ) -> Result<(), MeterRestoreError> {
        if history.len() > self.config.history_periods as usize {
            return Err(MeterRestoreError::History {
                index: history.len().saturating_sub(1),
                what: "more reports than history_periods keeps",
            });
        }
        let first =
            self.closed
                .len()
                .checked_sub(history.len())
                .ok_or(MeterRestoreError::History {
                    index: 0,
                    what: "more reports than closed periods",
                })?;
        for (index, report) in history.into_iter().enumerate() {
            let bad = |what| Err(MeterRestoreError::History { index, what });
            let id = report.period.id;
            if self.closed.get(first + index) != Some(&report.period) {
                return bad(
                    "its period is not the closed period at its place (the latest closed, in order)",
                );
            }
            if report.usage.iter().any(|u| u.period != id) {
                return bad("a usage record names another period");
            }
            if report
                .adjustments
                .iter()
                .any(|a| a.recorded_in != id || a.corrects >= id)
            {
                return bad("an adjustment was not recorded in it or corrects no earlier period");
            }
            if report
                .invoices
                .windows(2)
                .any(|w| w[0].tenant >= w[1].tenant)
            {
                return bad("its invoices are not one per tenant, by tenant");
            }
            for invoice in &report.invoices {
                if invoice.period != id {
                    return bad("an invoice names another period");
                }
                let exact = invoice
                    .lines
                    .iter()
                    .try_fold(0i128, |s, l| s.checked_add(l.exact_subnanos));
                let total = invoice
                    .lines
                    .iter()
                    .try_fold(0i128, |s, l| s.checked_add(l.amount_nanos));
                if exact != Some(invoice.exact_subnanos) || total != Some(invoice.total_nanos) {
                    return bad("an invoice's totals are not the sums of its lines");
                }
            }
            self.history.0.push_back(report);
        }
        Ok(())
    }
}
