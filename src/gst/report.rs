//! One warning policy for the probe and the element: what is logged, what reaches the
//! bus (the first ten of a kind, then one in a thousand: a broken stream must not
//! flood it), and the rule that messages are posted only once every lock is dropped
//! (a bus sync handler runs on the posting thread and may call back into the element,
//! e.g. to set a fallback `overlay-location`).

use gstreamer as gst;
use gstreamer::prelude::*;

/// Counts warnings of one probe or element and builds their bus messages.
#[derive(Debug, Default)]
pub(crate) struct Reporter {
    warned: u64,
}

impl Reporter {
    /// A rate-limited warning from `src`: the message to post (after unlocking), if
    /// this one is due. Always logged at WARNING level in the `cudadraw` category.
    pub(crate) fn warning(
        &mut self,
        src: Option<&gst::Element>,
        text: String,
    ) -> Option<gst::Message> {
        gst::warning!(super::CAT, "{text}");
        self.warned += 1;
        if self.warned > 10 && !self.warned.is_multiple_of(1000) {
            return None;
        }
        let src = src?;
        let debug = format!("occurrence {}", self.warned);
        Some(
            gst::message::Warning::builder(gst::StreamError::Failed, &text)
                .src(src)
                .debug(&debug)
                .build(),
        )
    }
}

/// A warning that is always due (configuration mistakes: once per cause).
pub(crate) fn warning_now(
    src: &gst::Element,
    error: impl gst::MessageErrorDomain,
    text: &str,
) -> gst::Message {
    gst::message::Warning::builder(error, text).src(src).build()
}

/// Posts messages collected under a lock, after it was dropped.
pub(crate) fn post_all(element: Option<&gst::Element>, messages: Vec<gst::Message>) {
    if let Some(element) = element {
        for m in messages {
            let _ = element.post_message(m);
        }
    }
}

/// The text of a panic's payload (`panic!("...")` gives a `&str` or a `String`).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
