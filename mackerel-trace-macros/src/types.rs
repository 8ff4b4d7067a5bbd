//! Predicates on a function's declared types, read from their syntax alone.
//!
//! May it be a `Result`, does it borrow or hide an `impl Trait`, and the `Type` in `Type::method`.

use quote::ToTokens;
use syn::ext::IdentExt as _;
use syn::visit_mut::VisitMut;
use syn::{Lifetime, Type};

/// Whether a function returning `ty` may return a `Result` (by type, so any path may be an
/// alias of one). Only shapes that can never be one are ruled out: unit, tuples, references,
/// arrays, slices, pointers, `!`, `impl Trait`, and primitive and `String` names.
pub(crate) fn may_be_result(ty: &Type) -> bool {
    match ty {
        Type::Tuple(_)
        | Type::Reference(_)
        | Type::Array(_)
        | Type::Slice(_)
        | Type::Ptr(_)
        | Type::Never(_)
        | Type::ImplTrait(_)
        | Type::BareFn(_) => false,
        Type::Paren(inner) => may_be_result(&inner.elem),
        Type::Group(inner) => may_be_result(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            let Some(ident) = path.path.get_ident() else {
                return true;
            };
            !matches!(
                ident.to_string().as_str(),
                "bool"
                    | "char"
                    | "str"
                    | "String"
                    | "u8"
                    | "u16"
                    | "u32"
                    | "u64"
                    | "u128"
                    | "usize"
                    | "i8"
                    | "i16"
                    | "i32"
                    | "i64"
                    | "i128"
                    | "isize"
                    | "f32"
                    | "f64"
            )
        }
        _ => true,
    }
}

pub(crate) fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}

/// Whether `ty` mentions `impl Trait`.
pub(crate) fn has_impl_trait(ty: &Type) -> bool {
    struct Find(bool);
    impl VisitMut for Find {
        fn visit_type_impl_trait_mut(&mut self, _: &mut syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    find.visit_type_mut(&mut ty.clone());
    find.0
}

/// Whether `ty` mentions a reference, a lifetime or `impl Trait`: a closure could not return it
/// (a borrow out of a captured `&mut` would have to escape the closure).
pub(crate) fn borrows_or_opaque(ty: &Type) -> bool {
    struct Find(bool);
    impl VisitMut for Find {
        fn visit_type_impl_trait_mut(&mut self, _: &mut syn::TypeImplTrait) {
            self.0 = true;
        }
        fn visit_type_reference_mut(&mut self, _: &mut syn::TypeReference) {
            self.0 = true;
        }
        fn visit_lifetime_mut(&mut self, _: &mut Lifetime) {
            self.0 = true;
        }
        fn visit_type_macro_mut(&mut self, _: &mut syn::TypeMacro) {
            self.0 = true;
        }
    }
    let mut find = Find(false);
    find.visit_type_mut(&mut ty.clone());
    find.0
}

/// `Type` in `Type::method`: the last path segment without generics.
pub(crate) fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map_or_else(String::new, |s| s.ident.unraw().to_string()),
        Type::Reference(r) => type_name(&r.elem),
        Type::Paren(p) => type_name(&p.elem),
        Type::Group(g) => type_name(&g.elem),
        other => other.to_token_stream().to_string().replace(' ', ""),
    }
}
