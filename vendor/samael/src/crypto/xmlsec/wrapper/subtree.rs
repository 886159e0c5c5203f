//!
//! [idbroker patch 2: SAML-profile references mapped without re-parsing]
//!
//! The node set that a verified `<ds:Reference URI="#ID">` with exactly the transforms of the
//! SAML signature profile (enveloped-signature, then exclusive c14n without comments; SAML core
//! §5.4.4) digested, read straight from the libxml2 tree: the referenced element and everything
//! under it, except the enveloped `<ds:Signature>` subtree and comments.
//!
//! samael's generic path finds the same nodes by re-parsing xmlsec's pre-digest text and
//! matching it back against the document. Canonicalisation merges adjacent text (text split by
//! a comment, by the removed signature, or by CDATA becomes one text node), and the generic
//! matcher fails closed on such merges. To give exactly the generic path's result, or none,
//! [`signed_subtree`] refuses (returns `None`, so the caller takes the generic path) whenever a
//! run of text pieces would merge into something that is not white space only, when the
//! subtree holds a node type other than elements, text, CDATA, comments and processing
//! instructions, and when the signature is the referenced element or one of its ancestors
//! (then the enveloped transform removed everything).
//!
//! White-space-only text (and CDATA) is left out, as the generic matcher leaves it out.

use libxml::bindings::{
    xmlElementType_XML_CDATA_SECTION_NODE as CDATA_NODE,
    xmlElementType_XML_COMMENT_NODE as COMMENT_NODE,
    xmlElementType_XML_ELEMENT_NODE as ELEMENT_NODE, xmlElementType_XML_PI_NODE as PI_NODE,
    xmlElementType_XML_TEXT_NODE as TEXT_NODE, xmlNode,
};
use libxml::tree::{Document, Node};

/// The signed nodes of one reference, as libxml2 node addresses (samael's node identities).
#[derive(Debug, Default)]
pub struct SignedSubtree {
    /// Every signed node kept: elements, text and CDATA with content, processing instructions.
    pub nodes: Vec<usize>,
    /// The signed elements (all of their attributes are signed).
    pub elements: Vec<usize>,
}

/// The node set of the element whose ID (in `doc`'s ID table, which samael fills and checks
/// for duplicates) is `id`, minus the `enveloped` signature subtree and comments; or `None`
/// when there is no such element or that set is not one samael's generic matcher would map
/// one-to-one (see the module documentation).
///
/// `enveloped` must be a node of `doc`; the borrow of `doc` keeps the tree alive and unchanged
/// for the walk, which only reads it.
pub fn signed_subtree(doc: &Document, id: &str, enveloped: &Node) -> Option<SignedSubtree> {
    let id = std::ffi::CString::new(id).ok()?;
    let enveloped_ptr = enveloped.node_ptr() as *const xmlNode;
    if enveloped_ptr.is_null() || doc.doc_ptr().is_null() {
        return None;
    }
    // SAFETY: `doc` is borrowed (alive, not mutated) for the whole walk; xmlGetID only reads
    // its ID table; the attribute it returns, that attribute's parent and every node reached
    // from it through libxml2's parent/children/next links are nodes of `doc`, valid for as
    // long as it is. Nothing is written.
    unsafe {
        let attr = libxml::bindings::xmlGetID(doc.doc_ptr(), id.as_ptr() as *const u8);
        if attr.is_null() {
            return None;
        }
        let anchor_ptr = (*attr).parent as *const xmlNode;
        if anchor_ptr.is_null()
            || (*anchor_ptr).type_ != ELEMENT_NODE
            || (*anchor_ptr).doc != doc.doc_ptr()
        {
            return None;
        }
        // The signature is the referenced element or an ancestor of it: nothing was signed.
        let mut up = anchor_ptr;
        while !up.is_null() {
            if up == enveloped_ptr {
                return None;
            }
            up = (*up).parent;
        }

        let mut out = SignedSubtree::default();
        let mut stack = vec![anchor_ptr];
        while let Some(element) = stack.pop() {
            out.nodes.push(element as usize);
            out.elements.push(element as usize);
            let mut run = TextRun::default();
            let mut child = (*element).children as *const xmlNode;
            while !child.is_null() {
                if child != enveloped_ptr {
                    match (*child).type_ {
                        ELEMENT_NODE => {
                            run.close()?;
                            stack.push(child);
                        }
                        TEXT_NODE | CDATA_NODE => {
                            if run.piece(content_is_blank(child)?) {
                                out.nodes.push(child as usize);
                            }
                        }
                        // Comments are not in the node set; text around them merges.
                        COMMENT_NODE => {}
                        PI_NODE => {
                            run.close()?;
                            out.nodes.push(child as usize);
                        }
                        _ => return None,
                    }
                }
                // The enveloped signature is removed too: text around it merges.
                child = (*child).next as *const xmlNode;
            }
            run.close()?;
        }
        Some(out)
    }
}

/// Consecutive text pieces (text and CDATA nodes separated only by comments or the removed
/// signature), which canonicalisation turns into one text node.
#[derive(Default)]
struct TextRun {
    pieces: usize,
    has_content: bool,
}

impl TextRun {
    /// Add a piece; returns whether it is kept (it has content).
    fn piece(&mut self, blank: bool) -> bool {
        self.pieces += 1;
        self.has_content |= !blank;
        !blank
    }

    /// End the run: `None` if it merges pieces into text with content.
    fn close(&mut self) -> Option<()> {
        let merged = self.pieces > 1 && self.has_content;
        *self = TextRun::default();
        (!merged).then_some(())
    }
}

/// Is a text or CDATA node's content white space only (as samael's matcher decides it:
/// `str::trim`)? `None` if it is not UTF-8.
///
/// # Safety
/// `node` is a valid text or CDATA node of a live document.
unsafe fn content_is_blank(node: *const xmlNode) -> Option<bool> {
    let content = (*node).content;
    if content.is_null() {
        return Some(true);
    }
    let bytes = std::ffi::CStr::from_ptr(content as *const std::ffi::c_char).to_bytes();
    std::str::from_utf8(bytes)
        .ok()
        .map(|text| text.trim().is_empty())
}
