/* page.h: the embedded web chat page (page.c). */
#ifndef OWL_SERVE_PAGE_H
#define OWL_SERVE_PAGE_H
extern const char owl_serve_page[];
#endif
